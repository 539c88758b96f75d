/**
 * Where the service is and how to authenticate to it: `--url` or AGENT_STS_URL, and the admin
 * token from AGENT_STS_ADMIN_TOKEN or a file (`--token-file`, AGENT_STS_ADMIN_TOKEN_FILE). There is
 * deliberately no `--token` flag: a flag is visible to every user of the machine in the process
 * list and lands in shell history.
 */
import { readFileSync } from 'node:fs';
import { MissingCredentialsError, UsageError } from './errors.js';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

export interface GlobalOptions {
  readonly url?: string;
  readonly tokenFile?: string;
  readonly json?: boolean;
}

export type Env = Readonly<Record<string, string | undefined>>;

export function serviceUrl(options: GlobalOptions, env: Env): string {
  const url = options.url ?? env.AGENT_STS_URL ?? DEFAULT_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url / AGENT_STS_URL is not a URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--url / AGENT_STS_URL must be http or https: ${url}`);
  }
  return url;
}

function readTokenFile(file: string, source: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'unreadable';
    throw new UsageError(`cannot read the admin token file ${file} (${source}): ${code}`);
  }
  const token = text.trim();
  if (!token) throw new UsageError(`the admin token file ${file} (${source}) is empty`);
  return token;
}

/**
 * The admin token: `--token-file` first (an explicit choice on this command line), then
 * AGENT_STS_ADMIN_TOKEN, then AGENT_STS_ADMIN_TOKEN_FILE.
 */
export function adminToken(options: GlobalOptions, env: Env): string {
  if (options.tokenFile !== undefined) return readTokenFile(options.tokenFile, '--token-file');
  const inline = env.AGENT_STS_ADMIN_TOKEN?.trim();
  if (inline) return inline;
  if (env.AGENT_STS_ADMIN_TOKEN_FILE) {
    return readTokenFile(env.AGENT_STS_ADMIN_TOKEN_FILE, 'AGENT_STS_ADMIN_TOKEN_FILE');
  }
  throw new MissingCredentialsError(
    'no admin token: set AGENT_STS_ADMIN_TOKEN, or AGENT_STS_ADMIN_TOKEN_FILE / --token-file to a file holding it',
  );
}
