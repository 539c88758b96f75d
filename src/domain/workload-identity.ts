/**
 * Workload identities an agent can be bound to instead of holding a secret or a key (ADR 0023):
 * a SPIFFE ID, or a Kubernetes service account of one cluster. Pure parsing and the canonical
 * key under which an agent is found by the identity its credential proves.
 */

export type WorkloadKind = 'spiffe' | 'kubernetes';

/** The `tokenEndpointAuthMethod` of an agent that authenticates with a workload credential. */
export const WORKLOAD_AUTH_METHODS = {
  spiffe: 'jwt_spiffe',
  kubernetes: 'kubernetes_service_account',
} as const satisfies Record<WorkloadKind, string>;
export type WorkloadAuthMethod = (typeof WORKLOAD_AUTH_METHODS)[WorkloadKind];

export function workloadKindOf(method: string): WorkloadKind | null {
  if (method === WORKLOAD_AUTH_METHODS.spiffe) return 'spiffe';
  if (method === WORKLOAD_AUTH_METHODS.kubernetes) return 'kubernetes';
  return null;
}

/** SPIFFE-ID §2.2: a SPIFFE ID is at most 2048 bytes; §2.1: a trust domain name at most 255. */
const MAX_SPIFFE_ID_LENGTH = 2048;
const MAX_TRUST_DOMAIN_LENGTH = 255;
/** SPIFFE-ID §2.1: lower-case letters, digits, dots, dashes and underscores. */
const TRUST_DOMAIN_PATTERN = /^[a-z0-9._-]+$/;
/** SPIFFE-ID §2.2: a path segment is letters, digits, dots, dashes and underscores. */
const PATH_SEGMENT_PATTERN = /^[A-Za-z0-9._-]+$/;

export interface SpiffeId {
  readonly trustDomain: string;
  readonly path: string;
}

/** A trust domain name (SPIFFE-ID §2.1), as an admin registers it. */
export function isTrustDomainName(value: string): boolean {
  return value.length <= MAX_TRUST_DOMAIN_LENGTH && TRUST_DOMAIN_PATTERN.test(value);
}

/**
 * SPIFFE-ID §2: `spiffe://<trust domain>/<path>`, scheme and trust domain lower case, no port,
 * user info, query or fragment, no empty, `.` or `..` path segment. A workload's SPIFFE ID has a
 * path: the bare trust domain names no workload. Null when `value` is not one.
 */
export function parseSpiffeId(value: string): SpiffeId | null {
  if (value.length > MAX_SPIFFE_ID_LENGTH || !value.startsWith('spiffe://')) return null;
  const rest = value.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const trustDomain = rest.slice(0, slash);
  const path = rest.slice(slash);
  if (!isTrustDomainName(trustDomain)) return null;
  const segments = path.slice(1).split('/');
  for (const segment of segments) {
    if (!PATH_SEGMENT_PATTERN.test(segment) || segment === '.' || segment === '..') return null;
  }
  return { trustDomain, path };
}

/** Kubernetes: a namespace is an RFC 1123 label; a service account name an RFC 1123 subdomain. */
const NAMESPACE_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SERVICE_ACCOUNT_PATTERN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const SERVICE_ACCOUNT_SUBJECT_PREFIX = 'system:serviceaccount:';

export interface ServiceAccount {
  readonly namespace: string;
  readonly name: string;
}

export function isNamespace(value: string): boolean {
  return NAMESPACE_PATTERN.test(value);
}

export function isServiceAccountName(value: string): boolean {
  return SERVICE_ACCOUNT_PATTERN.test(value);
}

/** The `sub` Kubernetes writes into a service-account token. */
export function serviceAccountSubject(account: ServiceAccount): string {
  return `${SERVICE_ACCOUNT_SUBJECT_PREFIX}${account.namespace}:${account.name}`;
}

/** Whether a `sub` has the shape of a service-account token's, before anything is verified. */
export function looksLikeServiceAccountSubject(sub: unknown): boolean {
  return typeof sub === 'string' && sub.startsWith(SERVICE_ACCOUNT_SUBJECT_PREFIX);
}

/** `system:serviceaccount:<namespace>:<name>`; null when `sub` is not exactly that. */
export function parseServiceAccountSubject(sub: string): ServiceAccount | null {
  if (!sub.startsWith(SERVICE_ACCOUNT_SUBJECT_PREFIX)) return null;
  const [namespace, name, ...rest] = sub.slice(SERVICE_ACCOUNT_SUBJECT_PREFIX.length).split(':');
  if (rest.length > 0 || namespace === undefined || name === undefined) return null;
  if (!isNamespace(namespace) || !isServiceAccountName(name)) return null;
  return { namespace, name };
}

/**
 * The canonical key of a workload identity, stored on the agent and looked up from a verified
 * credential. A SPIFFE ID already names its trust domain; a service account is only unique within
 * its cluster, so its key names the cluster's issuer too (an issuer URL has no fragment, so `#`
 * separates them unambiguously).
 */
export type WorkloadIdentity =
  | { readonly kind: 'spiffe'; readonly spiffeId: string }
  | { readonly kind: 'kubernetes'; readonly issuer: string; readonly serviceAccount: ServiceAccount };

export function workloadKey(identity: WorkloadIdentity): string {
  return identity.kind === 'spiffe'
    ? identity.spiffeId
    : `${identity.issuer}#${serviceAccountSubject(identity.serviceAccount)}`;
}

/** The identity a stored key stands for; null for a key this module did not write. */
export function parseWorkloadKey(key: string): WorkloadIdentity | null {
  if (key.startsWith('spiffe://')) return parseSpiffeId(key) ? { kind: 'spiffe', spiffeId: key } : null;
  const separator = key.lastIndexOf(`#${SERVICE_ACCOUNT_SUBJECT_PREFIX}`);
  if (separator <= 0) return null;
  const serviceAccount = parseServiceAccountSubject(key.slice(separator + 1));
  return serviceAccount ? { kind: 'kubernetes', issuer: key.slice(0, separator), serviceAccount } : null;
}
