/** Parsers for flag values and input files; a bad value is a usage error (exit 2). */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { UsageError } from './errors.js';
import type { Io } from './context.js';

/** `a,b c` → ['a', 'b', 'c']; an empty value gives [] (to clear a list). */
export function parseList(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

export function parsePositiveInt(value: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(value)) throw new InvalidArgumentError('not a positive integer.');
  return Number(value);
}

/**
 * A positive integer, or `none` to lift a limit (sent as null). The word is kept here: commander
 * takes a parser's null for "no value".
 */
export function parseIntOrNone(value: string): number | 'none' {
  return value === 'none' ? 'none' : parsePositiveInt(value);
}

export function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(seconds)) {
    throw new InvalidArgumentError('not a number of seconds.');
  }
  return seconds;
}

/** RFC 3339 with an offset, as the log endpoints take it; a bare date means its start in UTC. */
export function parseInstant(value: string): string {
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  if (Number.isNaN(new Date(text).getTime()) || !/(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    throw new InvalidArgumentError(
      'not an RFC 3339 date-time with an offset (2026-11-29T16:00:00Z) or a date.',
    );
  }
  return text;
}

/** A file's text, or stdin for `-`. */
export async function readInput(path: string, io: Io): Promise<string> {
  if (path === '-') return io.readStdin();
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as { code?: string }).code ?? 'unreadable'}`);
  }
}

export async function readJsonObject(path: string, io: Io): Promise<Record<string, unknown>> {
  const text = await readInput(path, io);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`${path} is not JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${path} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** A JWK Set from a file; a single JWK is wrapped in one. */
export async function readJwks(path: string, io: Io): Promise<Record<string, unknown>> {
  const value = await readJsonObject(path, io);
  if (Array.isArray(value.keys)) return value;
  if (typeof value.kty === 'string') return { keys: [value] };
  throw new UsageError(`${path} holds neither a JWK Set ({"keys": [...]}) nor a JWK`);
}
