/**
 * Workload credentials at the token endpoint (ADR 0023). oidc-provider knows no client
 * authentication by a JWT-SVID or a Kubernetes token, and refuses any assertion type but
 * `jwt-bearer`. This Koa middleware runs before it: it reads the form, and when the request
 * presents a workload credential it authenticates it (workload-credentials.ts), then hands the
 * provider the request with the credential replaced by the agent's `client_id` and a mark on the
 * context. The provider knows workload agents as `tls_client_auth` clients whose "certificate" is
 * that mark (provider.ts `features.mTLS`): a request without it — a bare `client_id`, a forged
 * one — authenticates nobody. Every other request reaches the provider with its body unchanged.
 */
import * as querystring from 'node:querystring';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { WORKLOAD_AUTH_METHODS } from '../domain/workload-identity.js';
import { CLIENT_AUTHENTICATION_FAILED } from './client-auth-failure.js';
import { ServiceUnavailable } from './errors.js';
import { TOKEN_PATH } from './provider.js';
import { noteEarlyRefusal } from './token-endpoint-hooks.js';
import { WorkloadAuthenticationError, type WorkloadCredentials } from './workload-credentials.js';

/** oidc-provider's own limit on a token request body (shared/selective_body.js). */
const BODY_LIMIT = 56 * 1024;

/** What a workload-authenticated request carries for the provider's client authentication. */
interface WorkloadMark {
  /** The agent's `tls_client_auth_subject_dn` as the adapter registers it. */
  readonly subject: string;
  readonly method: string;
}

const WORKLOAD_MARK = Symbol('agent-sts.workload-client');

type Marked = Record<symbol, WorkloadMark | undefined>;

/** The subject a workload agent is registered under in the provider (provider-adapter.ts). */
export function workloadSubject(workloadIdentity: string): string {
  return `workload:${workloadIdentity}`;
}

/** features.mTLS.getCertificate: the mark of a verified workload credential, never a real certificate. */
export function workloadCertificate(ctx: KoaContextWithOIDC): string | undefined {
  return (ctx as unknown as Marked)[WORKLOAD_MARK]?.subject;
}

/** features.mTLS.certificateSubjectMatches: the verified identity is the agent's registered one. */
export function workloadSubjectMatches(ctx: KoaContextWithOIDC, property: string, expected: string): boolean {
  return property === 'tls_client_auth_subject_dn' && workloadCertificate(ctx) === expected;
}

/** The workload method the request authenticated with, for the grants' method check; else null. */
export function workloadAuthMethodOf(ctx: KoaContextWithOIDC): string | null {
  return (ctx as unknown as Marked)[WORKLOAD_MARK]?.method ?? null;
}

/** The raw body, with the checks oidc-provider's own reader makes (size, Content-Length). */
async function readForm(ctx: KoaContextWithOIDC): Promise<Buffer> {
  const length = ctx.request.length;
  if (length !== undefined && length > BODY_LIMIT) throw new Error('request entity too large');
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > BODY_LIMIT || (length !== undefined && received > length)) {
      throw new Error('request body too large');
    }
    chunks.push(chunk);
  }
  if (length !== undefined && received !== length)
    throw new Error('request size did not match content length');
  return Buffer.concat(chunks, received);
}

/**
 * Hands the provider `body` as the request stream it reads itself (shared/selective_body.js).
 * Once this middleware has read the stream, the provider would otherwise fall back to `req.body`
 * and print a warning; instead it reads these bytes afresh, with a Content-Length to match. The
 * stand-in inherits everything else (headers, URL, socket) from the real request.
 */
function replayBody(ctx: KoaContextWithOIDC, body: Buffer): void {
  ctx.request.req.headers['content-length'] = String(body.length);
  // The provider reads `req.iterator()` alone: a one-chunk generator, not a Readable per request.
  ctx.req = Object.create(ctx.req, {
    readable: { value: true },
    iterator: { value: () => oneChunk(body) },
  }) as typeof ctx.req;
}

async function* oneChunk(body: Buffer): AsyncGenerator<Buffer> {
  yield body;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

function answer(ctx: KoaContextWithOIDC, status: number, error: string, description: string): void {
  ctx.status = status;
  // RFC 6749 §5.1, as the provider's own answers.
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'json';
  ctx.body = { error, error_description: description };
}

export function workloadTokenEndpoint(workloads: WorkloadCredentials) {
  return async function workloadClientAuthentication(
    ctx: KoaContextWithOIDC,
    next: () => Promise<void>,
  ): Promise<void> {
    if (ctx.path !== TOKEN_PATH || ctx.method !== 'POST' || !ctx.is('application/x-www-form-urlencoded')) {
      return next();
    }
    let raw: Buffer;
    try {
      raw = await readForm(ctx);
    } catch {
      answer(ctx, 400, 'invalid_request', 'failed to parse the request body');
      return;
    }
    const params = querystring.parse(raw.toString('utf8'));
    const clientId = single(params.client_id);
    const refuse = (detail: string) => {
      noteEarlyRefusal(ctx, { detail, params });
      answer(ctx, 401, 'invalid_client', CLIENT_AUTHENTICATION_FAILED);
    };
    try {
      const presented = await workloads.presented(
        single(params.client_assertion_type),
        single(params.client_assertion),
      );
      if (!presented) {
        replayBody(ctx, raw);
        return next();
      }
      if (ctx.get('authorization') !== '' || params.client_secret !== undefined) {
        noteEarlyRefusal(ctx, { detail: null, params });
        answer(
          ctx,
          400,
          'invalid_request',
          'client authentication must only be provided using one mechanism',
        );
        return;
      }
      const agent = await workloads.authenticate(presented, clientId);
      const { client_assertion: _assertion, client_assertion_type: _type, ...rest } = params;
      replayBody(ctx, Buffer.from(querystring.stringify({ ...rest, client_id: agent.id })));
      (ctx as unknown as Marked)[WORKLOAD_MARK] = {
        subject: workloadSubject(agent.workloadIdentity ?? ''),
        method: WORKLOAD_AUTH_METHODS[presented.kind],
      };
    } catch (error) {
      if (error instanceof WorkloadAuthenticationError) return refuse(error.detail);
      if (error instanceof ServiceUnavailable) {
        answer(ctx, 503, 'temporarily_unavailable', 'the service is temporarily unavailable, retry later');
        return;
      }
      throw error;
    }
    return next();
  };
}
