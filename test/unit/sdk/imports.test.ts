/**
 * CONTRACT §6 and STYLE.md: the SDK subpaths pull in nothing of the server. Every import in
 * src/sdk is jose, a Node built-in, a type-only import of fastify (erased at run time),
 * or a relative path that stays inside src/sdk.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SDK = path.resolve('src/sdk');
const RUNTIME_PACKAGES = ['jose'];

function files(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(path.join(directory, entry.name)) : [path.join(directory, entry.name)],
  );
}

const IMPORT =
  /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/gm;

function importsOf(file: string): Array<{ specifier: string; typeOnly: boolean }> {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(IMPORT)].map((match) => ({
    specifier: (match[3] ?? match[4] ?? match[5])!,
    typeOnly: match[2] !== undefined,
  }));
}

describe('src/sdk imports', () => {
  const sources = files(SDK).filter((file) => file.endsWith('.ts'));

  it('finds the SDK sources', () => {
    expect(sources.length).toBeGreaterThan(10);
  });

  it.each(sources.map((file) => [path.relative(SDK, file), file]))(
    '%s imports nothing of the server',
    (_, file) => {
      for (const { specifier, typeOnly } of importsOf(file)) {
        if (specifier.startsWith('.')) {
          const target = path.resolve(path.dirname(file), specifier);
          expect(target.startsWith(SDK + path.sep), `${specifier} leaves src/sdk`).toBe(true);
        } else if (specifier === 'fastify') {
          expect(typeOnly, 'fastify is imported for types only').toBe(true);
        } else {
          expect(
            specifier.startsWith('node:') || RUNTIME_PACKAGES.includes(specifier),
            `${specifier} is not jose or a Node built-in`,
          ).toBe(true);
        }
      }
    },
  );
});
