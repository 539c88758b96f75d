/**
 * Workload identity issuers for tests, with locally generated keys (ADR 0023): a SPIFFE trust
 * domain's authority that signs JWT-SVIDs and publishes its bundle, and a Kubernetes cluster that
 * signs projected service-account tokens. Also the admin calls that register them.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { ServiceAddress } from './server.js';

export const JWT_SPIFFE_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-spiffe';

export interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly kid: string;
  readonly alg: string;
}

export async function newKey(alg = 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid }, kid, alg };
}

export interface TokenOptions {
  /** Claims to set or override; `undefined` removes one. */
  readonly claims?: Record<string, unknown>;
  readonly header?: Record<string, unknown>;
  readonly key?: SigningKey;
}

async function sign(
  defaults: Record<string, unknown>,
  key: SigningKey,
  options: TokenOptions,
): Promise<string> {
  const claims: Record<string, unknown> = { ...defaults, ...options.claims };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  const signer = options.key ?? key;
  const header: Record<string, unknown> = { alg: signer.alg, kid: signer.kid, typ: 'JWT', ...options.header };
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name];
  return new SignJWT(claims as JWTPayload)
    .setProtectedHeader(header as { alg: string })
    .sign(signer.privateKey);
}

/** A SPIFFE trust domain: its JWT-SVID key, an X.509 CA key, and the bundle that lists both. */
export interface SpiffeAuthority {
  readonly trustDomain: string;
  readonly jwtKey: SigningKey;
  /** The bundle's `x509-svid` key: it must never verify a JWT. */
  readonly x509Key: SigningKey;
  bundle(extraJwtKeys?: readonly SigningKey[]): Record<string, unknown>;
  /** A JWT-SVID for `path`, addressed to `audience`, valid 60 s by default. */
  svid(path: string, audience: string, options?: TokenOptions): Promise<string>;
}

export async function spiffeAuthority(trustDomain: string): Promise<SpiffeAuthority> {
  const jwtKey = await newKey('ES256');
  const x509Key = await newKey('ES256');
  return {
    trustDomain,
    jwtKey,
    x509Key,
    bundle: (extraJwtKeys = []) => ({
      keys: [
        { ...x509Key.publicJwk, use: 'x509-svid', kid: undefined },
        ...[jwtKey, ...extraJwtKeys].map((key) => ({ ...key.publicJwk, use: 'jwt-svid' })),
      ].map((key) => JSON.parse(JSON.stringify(key)) as Record<string, unknown>),
      spiffe_sequence: 1,
      spiffe_refresh_hint: 300,
    }),
    svid: (path, audience, options = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return sign(
        {
          sub: `spiffe://${trustDomain}${path}`,
          aud: [audience],
          iat: now,
          exp: now + 60,
          jti: randomUUID(),
        },
        jwtKey,
        options,
      );
    },
  };
}

/** A Kubernetes cluster's service-account token issuer. */
export interface KubernetesCluster {
  readonly issuer: string;
  readonly key: SigningKey;
  /** A projected token of `namespace`/`name`, bound to a pod, for `audience`, valid 600 s. */
  token(namespace: string, name: string, audience: string, options?: TokenOptions): Promise<string>;
}

export async function kubernetesCluster(issuer: string): Promise<KubernetesCluster> {
  const key = await newKey('RS256');
  return {
    issuer,
    key,
    token: (namespace, name, audience, options = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return sign(
        {
          iss: issuer,
          sub: `system:serviceaccount:${namespace}:${name}`,
          aud: [audience],
          iat: now,
          nbf: now,
          exp: now + 600,
          jti: randomUUID(),
          'kubernetes.io': {
            namespace,
            serviceaccount: { name, uid: randomUUID() },
            pod: { name: `${name}-7d9f8c-x2x4q`, uid: randomUUID() },
          },
        },
        key,
        { ...options, header: { typ: undefined, ...options.header } },
      );
    },
  };
}

export interface AdminAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly contentType: string | null;
}

/** One admin API call with the bootstrap token. */
export async function adminCall(
  server: ServiceAddress,
  method: string,
  path: string,
  body?: unknown,
): Promise<AdminAnswer> {
  const response = await fetch(server.baseUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${server.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    contentType: response.headers.get('content-type'),
  };
}

/** POST that must succeed with 201; the created object. */
export async function adminCreate(
  server: ServiceAddress,
  path: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const answer = await adminCall(server, 'POST', path, body);
  if (answer.status !== 201) throw new Error(`POST ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}
