/**
 * `token inspect <token|->`: a JWT's header and claims, with its `act` chain spelled out. It only
 * decodes by default (nothing is trusted); `--verify` checks the signature against the service's
 * JWKS (found through its discovery document), the issuer and the times.
 */
import { Command } from 'commander';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
} from 'jose';
import { action, type Context, type Io } from '../context.js';
import { NetworkError, TokenInvalidError, UsageError } from '../errors.js';
import { readInput } from '../input.js';
import { fields, relative } from '../render.js';

interface Actor {
  readonly sub?: unknown;
  readonly act?: Actor;
}

/** RFC 8693 §4.1: the actors, newest (outermost `act`) first. */
export function actorsOf(claims: JWTPayload): string[] {
  const actors: string[] = [];
  let act = claims.act as Actor | undefined;
  for (let depth = 0; act && typeof act === 'object' && depth < 64; depth++) {
    actors.push(typeof act.sub === 'string' ? act.sub : '?');
    act = act.act;
  }
  return actors;
}

function decode(token: string): { header: Record<string, unknown>; claims: JWTPayload } {
  try {
    return { header: decodeProtectedHeader(token) as Record<string, unknown>, claims: decodeJwt(token) };
  } catch {
    throw new UsageError('not a JWT (three base64url parts, header and claims JSON)');
  }
}

function instant(seconds: unknown, now: Date): string {
  if (typeof seconds !== 'number') return '-';
  const date = new Date(seconds * 1000);
  return `${date.toISOString().replace(/\.\d{3}Z$/, 'Z')} (${relative(date, now)})`;
}

function printToken(
  context: Context,
  header: Record<string, unknown>,
  claims: JWTPayload,
  verified: boolean,
): void {
  const now = new Date();
  const text = (value: unknown) =>
    value === undefined ? '-' : typeof value === 'string' ? value : JSON.stringify(value);
  const cnf = claims.cnf as { jkt?: string } | undefined;
  context.print(
    fields([
      ['header', `alg ${text(header.alg)}  typ ${text(header.typ)}  kid ${text(header.kid)}`],
      ['issuer', text(claims.iss)],
      ['subject', text(claims.sub)],
      ['audience', text(claims.aud)],
      ['client_id', text(claims.client_id)],
      ['scope', text(claims.scope)],
      ['txn', text(claims.txn)],
      ['jti', text(claims.jti)],
      ['issued', instant(claims.iat, now)],
      ['expires', instant(claims.exp, now)],
      ...(cnf?.jkt ? ([['dpop jkt', cnf.jkt]] as [string, string][]) : []),
    ]),
  );
  const actors = actorsOf(claims);
  if (actors.length > 0) {
    context.print(
      `\ndelegation (depth ${actors.length}): ${[text(claims.sub), ...[...actors].reverse()].join(' → ')}`,
    );
    actors.forEach((actor, index) =>
      context.print(`  ${index === 0 ? 'acting now ' : 'before     '} ${actor}`),
    );
  } else {
    context.print('\ndelegation: none (the token is the subject’s own)');
  }
  context.print(
    verified
      ? '\nsignature: verified against the service JWKS (issuer and times checked)'
      : '\nsignature: NOT verified (decoded only; add --verify to check it against the service JWKS)',
  );
}

async function verify(context: Context, token: string): Promise<void> {
  const metadata = await context.client.getPublic<{ issuer?: string; jwks_uri?: string }>(
    '/.well-known/oauth-authorization-server',
  );
  if (!metadata.jwks_uri || !metadata.issuer)
    throw new NetworkError('the discovery document has no jwks_uri or issuer');
  try {
    await jwtVerify(token, createRemoteJWKSet(new URL(metadata.jwks_uri)), { issuer: metadata.issuer });
  } catch (error) {
    if (error instanceof errors.JOSEError && !(error instanceof errors.JWKSTimeout)) {
      throw new TokenInvalidError(error.code, error.message);
    }
    throw new NetworkError(`cannot fetch ${metadata.jwks_uri}: ${(error as Error).message}`);
  }
}

export function tokenCommands(io: Io): Command {
  const group = new Command('token').description('look at tokens');
  group.addCommand(
    new Command('inspect')
      .description('decode a JWT (header, claims, act chain); --verify checks it against the service JWKS')
      .argument('<token>', 'the token, or - to read it from stdin (keeps it out of the process list)')
      .option(
        '--verify',
        'verify signature, issuer and times against the service JWKS (exit 7 when it fails)',
      )
      .action(
        action(io, async (context, [input], options) => {
          const token = (input === '-' ? await readInput('-', context.io) : input!).trim();
          const { header, claims } = decode(token);
          if (options.verify) await verify(context, token);
          const verified = options.verify === true;
          if (context.json) return context.printJson({ header, claims, verified });
          printToken(context, header, claims, verified);
        }),
      ),
  );
  return group;
}
