/**
 * What every command runs with: the global options resolved once (service URL, admin token,
 * `--json`), the admin API client and the output streams.
 */
import type { Command } from 'commander';
import { createClient, type AdminClient } from './client.js';
import { adminToken, serviceUrl, type Env, type GlobalOptions } from './config.js';

/** The process around the CLI, replaceable in tests. */
export interface Io {
  readonly env: Env;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readStdin: () => Promise<string>;
}

export interface Context {
  readonly json: boolean;
  readonly client: AdminClient;
  readonly io: Io;
  /** A line (or block) of human output on stdout. */
  print(text: string): void;
  /** The API's JSON, as it answered. */
  printJson(value: unknown): void;
}

export type Options = Readonly<Record<string, unknown>>;

export function createContext(globals: GlobalOptions, io: Io): Context {
  const baseUrl = serviceUrl(globals, io.env);
  let token: string | undefined;
  return {
    json: globals.json === true,
    io,
    client: createClient({ baseUrl, token: () => (token ??= adminToken(globals, io.env)) }),
    print: (text) => io.stdout(`${text}\n`),
    printJson: (value) => io.stdout(`${JSON.stringify(value, null, 2)}\n`),
  };
}

/**
 * A commander action handler that receives the context, the positional arguments and the
 * command's own options (commander passes `...args, options, command`).
 */
export function action(
  io: Io,
  handler: (context: Context, args: string[], options: Options) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const options = (args.at(-2) ?? {}) as Options;
    const positional = args.slice(0, -2).flatMap((value) => (Array.isArray(value) ? value : [value]));
    const context = createContext(command.optsWithGlobals<GlobalOptions>(), io);
    await handler(context, positional as string[], options);
  };
}
