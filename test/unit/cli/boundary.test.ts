/**
 * The CLI is a client of the admin API's HTTP contract (STYLE.md): every import under src/cli
 * stays under src/cli or names node:*, commander or jose. eslint says the same while editing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const CLI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/cli');
const ALLOWED_PACKAGES = new Set(['commander', 'jose']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(path.join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [path.join(dir, entry.name)]
        : [],
  );
}

it('src/cli imports only its own modules, node:*, commander and jose', () => {
  const outside: string[] = [];
  for (const file of sources(CLI_DIR)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(
      /(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
    )) {
      const specifier = (match[1] ?? match[2])!;
      const allowed = specifier.startsWith('.')
        ? path.resolve(path.dirname(file), specifier).startsWith(CLI_DIR + path.sep)
        : specifier.startsWith('node:') || ALLOWED_PACKAGES.has(specifier);
      if (!allowed) outside.push(`${path.relative(CLI_DIR, file)}: ${specifier}`);
    }
  }
  expect(sources(CLI_DIR).length).toBeGreaterThan(5);
  expect(outside).toEqual([]);
});
