/**
 * The `agent-sts` command line: a thin shell over the admin API's HTTP contract. `run` parses
 * the arguments, runs one command and answers its exit code (errors.ts); it never exits the
 * process itself, so tests can drive it and output is flushed.
 */
import { Command, CommanderError } from 'commander';
import { registryCommands } from './commands/registry.js';
import { keyCommands } from './commands/keys.js';
import { revokeCommand } from './commands/revoke.js';
import { logCommands } from './commands/logs.js';
import { chainCommand } from './commands/chain.js';
import { tokenCommands } from './commands/token.js';
import type { Io } from './context.js';
import { DEFAULT_URL } from './config.js';
import { ApiError, describeError, EXIT_CODES, exitCodeFor } from './errors.js';

export const VERSION = '0.1.0';

const FOOTER = `
Environment:
  AGENT_STS_URL               the service (default ${DEFAULT_URL}); --url overrides it
  AGENT_STS_ADMIN_TOKEN       the admin token (ADMIN_TOKEN, or an access token with sts:admin)
  AGENT_STS_ADMIN_TOKEN_FILE  a file holding it; --token-file overrides both
  (there is no --token flag: command-line arguments are visible in the process list)

Output: human-readable tables and trees; --json prints the API's JSON as it answered (errors
as problem documents on stderr).

Exit codes:
  0  success
  1  internal error (a bug, or an answer the CLI cannot read)
  2  usage error: bad flags, arguments or input files; nothing was sent
  3  not found (404)
  4  authentication failed (401/403) or no admin token configured
  5  refused: validation or conflict (400, 409, other 4xx); nothing changed
  6  service unavailable: 5xx, 429, connection refused or timed out
  7  token inspect --verify: the token did not verify
`;

export function buildProgram(io: Io): Command {
  const program = new Command('agent-sts')
    .description('Admin CLI for agent-sts, over its admin API')
    .version(VERSION)
    .option('--url <url>', `service base URL (env AGENT_STS_URL, default ${DEFAULT_URL})`)
    .option('--token-file <path>', 'read the admin token from this file (env AGENT_STS_ADMIN_TOKEN_FILE)')
    .option('--json', 'print the API JSON instead of tables')
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
    })
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .addHelpText('after', FOOTER);
  // commander copies a parent's settings (exitOverride, output, help) into subcommands made with
  // .command() only; these are built apart and added, so they get a copy here.
  const commands = [
    ...registryCommands(io),
    keyCommands(io),
    revokeCommand(io),
    ...logCommands(io),
    chainCommand(io),
    tokenCommands(io),
  ];
  for (const command of commands) program.addCommand(inherit(program, command));
  return program;
}

/** Applies the program's settings to a command tree built on its own. */
function inherit(program: Command, command: Command): Command {
  command.copyInheritedSettings(program);
  for (const sub of command.commands) inherit(program, sub as Command);
  return command;
}

/** Runs one command line (`argv` as process.argv) and answers its exit code. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return EXIT_CODES.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed the message (or the help / version).
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')
        return EXIT_CODES.ok;
      return EXIT_CODES.usage;
    }
    const json = program.opts<{ json?: boolean }>().json === true;
    if (json && error instanceof ApiError && error.problem !== null) {
      io.stderr(`${JSON.stringify(error.problem, null, 2)}\n`);
    } else {
      io.stderr(`${describeError(error)}\n`);
    }
    return exitCodeFor(error);
  }
}
