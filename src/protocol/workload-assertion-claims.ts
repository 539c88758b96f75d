/**
 * The checks on a workload credential presented as a client assertion (ADR 0023) that go beyond
 * its signature, as one pure function, run by every endpoint that authenticates clients:
 *
 * - a SPIFFE JWT-SVID (draft-ietf-oauth-spiffe-client-auth §3.1, JWT-SVID §2–§3), sent with
 *   `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-spiffe`;
 * - a Kubernetes service-account token (RFC 7523 `jwt-bearer`), issued by a registered cluster.
 *
 * Every RFC 10070 rule of a `private_key_jwt` assertion holds for both (CONTRACT §3.3): `aud` is
 * this issuer as its sole value, `typ` is not another kind of JWT, `exp` and a one-time `jti` are
 * required, `iat`/`nbf` are not in the future, and the lifetime is bounded.
 */
import {
  parseServiceAccountSubject,
  parseSpiffeId,
  type WorkloadIdentity,
  type WorkloadKind,
} from '../domain/workload-identity.js';
import {
  ACCEPTED_ASSERTION_TYPES,
  hasAcceptedType,
  MAX_ASSERTION_LIFETIME_SECONDS,
  sharedAssertionProblem,
} from './client-assertion-claims.js';

/** draft-ietf-oauth-spiffe-client-auth §3.1: the client assertion type of a JWT-SVID. */
export const JWT_SPIFFE_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-spiffe';

/**
 * JWT-SVID §2.1 allows RS/ES/PS 256–512; this service verifies the ones it accepts on any client
 * assertion (provider.ts CLIENT_ASSERTION_ALGS). Never `none`, never HMAC (CA-06).
 */
export const WORKLOAD_ASSERTION_ALGS = ['ES256', 'ES384', 'PS256', 'PS384', 'RS256'];

/**
 * The longest lifetime (`exp` − `iat`) accepted. A JWT-SVID: five minutes, as any client
 * assertion (SPIRE's default JWT-SVID TTL). A Kubernetes token: ten minutes, the shortest the API
 * server issues (`expirationSeconds` ≥ 600) — ADR 0023.
 */
export const MAX_WORKLOAD_ASSERTION_LIFETIME_SECONDS: Record<WorkloadKind, number> = {
  spiffe: MAX_ASSERTION_LIFETIME_SECONDS,
  kubernetes: 600,
};

/** JWT-SVID §2.3 also allows `typ: JOSE`; RFC 10070's accepted values otherwise. */
const ACCEPTED_WORKLOAD_TYPES = new Set([...ACCEPTED_ASSERTION_TYPES, 'jose']);

export interface WorkloadCheckContext {
  /** This service's issuer identifier: the assertion's sole audience (RFC 10070 §4). */
  readonly issuer: string;
  /** Kubernetes: the registered cluster issuer the token must name as `iss`. */
  readonly clusterIssuer?: string;
  /** Seconds since the epoch. */
  readonly now: number;
  readonly clockToleranceSeconds: number;
}

export type WorkloadCheck =
  | {
      readonly ok: true;
      readonly identity: WorkloadIdentity;
      /** Where the assertion's `jti` is spent: the trust domain or the cluster issuer. */
      readonly replayScope: string;
      readonly jti: string;
      readonly exp: number;
    }
  | { readonly ok: false; readonly problem: string };

function refuse(problem: string): WorkloadCheck {
  return { ok: false, problem };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The rules every assertion kind shares (RFC 7523 §3 as updated by RFC 10070). */
function commonProblem(
  kind: WorkloadKind,
  claims: Readonly<Record<string, unknown>>,
  header: Readonly<Record<string, unknown>>,
  context: WorkloadCheckContext,
): string | null {
  if (typeof header.alg !== 'string' || !WORKLOAD_ASSERTION_ALGS.includes(header.alg)) {
    return 'client assertion alg is not accepted';
  }
  if (!hasAcceptedType(header, ACCEPTED_WORKLOAD_TYPES)) return 'client assertion typ is not accepted';
  const maxSeconds = MAX_WORKLOAD_ASSERTION_LIFETIME_SECONDS[kind];
  return sharedAssertionProblem(claims, context, { maxSeconds, description: `${maxSeconds} seconds` });
}

/** draft-ietf-oauth-spiffe-client-auth §3.1 steps 1–3: `sub` is a workload's SPIFFE ID. */
function checkSvid(claims: Readonly<Record<string, unknown>>): WorkloadCheck {
  const sub = typeof claims.sub === 'string' ? claims.sub : '';
  const spiffeId = parseSpiffeId(sub);
  if (!spiffeId) return refuse('client assertion sub must be a SPIFFE ID');
  return {
    ok: true,
    identity: { kind: 'spiffe', spiffeId: sub },
    replayScope: `spiffe://${spiffeId.trustDomain}`,
    jti: claims.jti as string,
    exp: claims.exp as number,
  };
}

/**
 * A Kubernetes service-account token: `iss` is the registered cluster, `sub` is
 * `system:serviceaccount:<ns>:<name>`, and the `kubernetes.io` claims agree with it and bind the
 * token to a pod (a projected or pod-bound token, never a long-lived secret-based one).
 */
function checkServiceAccountToken(
  claims: Readonly<Record<string, unknown>>,
  context: WorkloadCheckContext,
): WorkloadCheck {
  if (context.clusterIssuer === undefined || claims.iss !== context.clusterIssuer) {
    return refuse('client assertion iss must be the registered cluster issuer');
  }
  const serviceAccount = parseServiceAccountSubject(typeof claims.sub === 'string' ? claims.sub : '');
  if (!serviceAccount) return refuse('client assertion sub must be system:serviceaccount:<namespace>:<name>');
  const bound = claims['kubernetes.io'];
  if (!isObject(bound)) return refuse('the kubernetes.io claim is required');
  const account = bound.serviceaccount;
  if (
    bound.namespace !== serviceAccount.namespace ||
    !isObject(account) ||
    account.name !== serviceAccount.name ||
    typeof account.uid !== 'string'
  ) {
    return refuse('the kubernetes.io claim does not match the sub');
  }
  const pod = bound.pod;
  if (!isObject(pod) || typeof pod.name !== 'string' || typeof pod.uid !== 'string') {
    return refuse('the kubernetes.io claim must bind the token to a pod');
  }
  return {
    ok: true,
    identity: { kind: 'kubernetes', issuer: context.clusterIssuer, serviceAccount },
    replayScope: context.clusterIssuer,
    jti: claims.jti as string,
    exp: claims.exp as number,
  };
}

/**
 * The workload identity a (not yet signature-verified) assertion claims, or the public reason for
 * refusing it. The signature is checked afterwards against the keys of the trust domain or
 * cluster this names, and only then is the identity trusted.
 */
export function checkWorkloadAssertion(
  kind: WorkloadKind,
  claims: Readonly<Record<string, unknown>>,
  header: Readonly<Record<string, unknown>>,
  context: WorkloadCheckContext,
): WorkloadCheck {
  const problem = commonProblem(kind, claims, header, context);
  if (problem !== null) return refuse(problem);
  return kind === 'spiffe' ? checkSvid(claims) : checkServiceAccountToken(claims, context);
}
