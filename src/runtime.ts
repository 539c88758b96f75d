/**
 * Which Node.js runs the service. oidc-provider supports Node.js 22 LTS and later LTS releases and
 * prints "Unsupported runtime" on anything else. `npm ci` therefore installs a pinned Node.js 22
 * binary (the optional dependency `node-<platform>-<arch>` for the platforms npm publishes one
 * for), and every npm script runs on it, because npm puts `node_modules/.bin` (where that package
 * links `node`) first on a script's PATH (ADR 0018). This module says what went wrong when another
 * Node.js runs anyway.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Runtime {
  /** `process.version`, e.g. `v22.23.3`. */
  readonly version: string;
  /** `process.release.lts`: the LTS codename, absent on a Current release. */
  readonly lts: string | undefined;
  readonly platform: string;
  readonly arch: string;
  /** Whether `npm ci` linked a Node.js binary of its own into `node_modules/.bin/node`. */
  readonly binaryInstalled: boolean;
}

/** The oldest LTS line oidc-provider supports: Node.js 22, codename Jod (codenames run A to Z). */
const OLDEST_SUPPORTED_LTS = 'Jod';

/** The repository root, one level above src/ and dist/ alike. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function currentRuntime(): Runtime {
  return {
    version: process.version,
    lts: process.release.lts,
    platform: process.platform,
    arch: process.arch,
    binaryInstalled: existsSync(path.join(ROOT, 'node_modules', '.bin', 'node')),
  };
}

/** The same test oidc-provider applies before it warns. */
export function isSupportedRuntime(runtime: Pick<Runtime, 'lts'>): boolean {
  return runtime.lts !== undefined && runtime.lts.charCodeAt(0) >= OLDEST_SUPPORTED_LTS.charCodeAt(0);
}

/**
 * One line saying why the runtime is unsupported and what to do, or null when it is supported.
 * `command` is the npm script that would have run on the installed binary (`npm start`).
 */
export function unsupportedRuntimeNotice(runtime: Runtime, command: string): string | null {
  if (isSupportedRuntime(runtime)) return null;
  const unsupported = `Node.js ${runtime.version} is running; oidc-provider supports Node.js 22 LTS and later LTS releases`;
  if (runtime.binaryInstalled) {
    return `${unsupported}. npm ci installed Node.js 22 in node_modules/.bin/node, which npm scripts run on: use ${command}`;
  }
  return `${unsupported}, and npm publishes no Node.js 22 binary for ${runtime.platform}-${runtime.arch} (ADR 0018): install Node.js 22 LTS`;
}
