import { generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import type { AgentPolicy } from '../../src/domain/index.js';
import type { TokenStanding } from '../../src/infra/lineage-store.js';
import type { AgentRecord } from '../../src/infra/registry.js';
import type { KeySet, LoadedKey } from '../../src/infra/signing-keys.js';
import { OnDemandKeyRefresh } from '../../src/protocol/key-refresh.js';
import { tokenDigest } from '../../src/protocol/mint.js';
import {
  OwnTokenVerifier,
  type OwnTokenFailure,
  type OwnTokenVerifyOptions,
} from '../../src/protocol/own-token.js';
import { agent, NOW } from './fixtures.js';

const ISSUER = 'https://sts.example';
const TOLERANCE = 15;
const RECORDED = 'jti-recorded';

async function loadedKey(kid: string, alg = 'ES256'): Promise<LoadedKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  return {
    kid,
    alg,
    state: 'active',
    publicJwk: {},
    privateJwk: {},
    publicKey,
    privateKey,
    activatedAt: null,
    retiredAt: null,
  };
}

function keySet(...keys: LoadedKey[]): KeySet {
  return {
    active: keys[0] as LoadedKey,
    verification: new Map(keys.map((key) => [key.kid, key])),
    publicJwks: [],
  };
}

/** An access token as mint.ts signs it: alice via agent-a, for agent-b. */
function claims(overrides: JWTPayload = {}): JWTPayload {
  return {
    iss: ISSUER,
    sub: 'alice',
    aud: 'agent-b',
    client_id: 'agent-a',
    scope: 'calendar.read',
    act: { sub: 'agent-a' },
    txn: 'txn-1',
    jti: RECORDED,
    iat: NOW - 1,
    nbf: NOW - 1,
    exp: NOW + 300,
    ...overrides,
  };
}

function sign(
  key: LoadedKey,
  payload: JWTPayload = claims(),
  header: { typ?: string; kid?: string } = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header })
    .sign(key.privateKey);
}

/** The registry's answer for these agents. */
function registered(...policies: AgentPolicy[]): Map<string, AgentRecord> {
  return new Map(
    policies.map((policy) => [
      policy.id,
      {
        ...policy,
        name: policy.id,
        tokenEndpointAuthMethod: 'client_secret_basic',
        secretHash: null,
        workloadIdentity: null,
        jwks: null,
        jwksUri: null,
      },
    ]),
  );
}

const STANDING: TokenStanding = {
  revoked: false,
  subjectIsAgent: false,
  chainAgents: ['agent-hidden', 'agent-a'],
  depth: 1,
  depthLimit: null,
  rootIssuer: null,
  tokenDigest: null,
};
const FROM_IDP = 'jti-from-idp';
const FROM_REMOVED_IDP = 'jti-from-removed-idp';

/**
 * A verifier over `keys`, whose refresh loads `afterRefresh`, with lineage holding only RECORDED
 * (with `digest` as its token's digest, none by default).
 */
function harness(keys: KeySet, afterRefresh: KeySet = keys, digest: Uint8Array | null = null) {
  let current = keys;
  let refreshes = 0;
  const verifier = new OwnTokenVerifier({
    issuer: ISSUER,
    keys: () => current,
    refreshKeys: new OnDemandKeyRefresh({
      refresh: async () => {
        refreshes += 1;
        current = afterRefresh;
      },
      minIntervalMs: 5_000,
    }),
    lineage: {
      standing: async (jti) => {
        if (jti === FROM_IDP) return { ...STANDING, rootIssuer: 'https://idp.example' };
        if (jti === FROM_REMOVED_IDP) return { ...STANDING, rootIssuer: 'https://removed-idp.example' };
        return jti === RECORDED ? { ...STANDING, tokenDigest: digest } : null;
      },
    },
    registry: {
      getAgents: async () => registered(agent('agent-hidden'), agent('agent-a', { status: 'disabled' })),
      getTrustedIssuer: async (issuer) =>
        issuer === 'https://idp.example'
          ? {
              id: 'ti-1',
              issuer,
              jwks: null,
              jwksUri: null,
              audiences: [],
              scopeClaim: 'scope',
              maxDelegationDepth: null,
              version: 'ti-1@1',
            }
          : null,
      getPeerDomain: async () => null,
    },
    clockToleranceSeconds: TOLERANCE,
  });
  return { verifier, refreshes: () => refreshes };
}

let key: LoadedKey;
let otherKey: LoadedKey;

beforeAll(async () => {
  key = await loadedKey('kid-1');
  otherKey = await loadedKey('kid-2');
});

describe('OwnTokenVerifier.verify', () => {
  it('accepts a recorded token of its key, with lineage standing and the chain participants', async () => {
    const { verifier, refreshes } = harness(keySet(key));
    const result = await verifier.verify(await sign(key), { now: NOW });
    expect(result).toEqual({
      ok: true,
      value: {
        payload: claims(),
        standing: STANDING,
        participants: ['agent-hidden', 'agent-a'],
        rootIsPeer: false,
      },
    });
    expect(refreshes()).toBe(0);
  });

  it('accepts a token of a key it learns of by refreshing on the unknown kid', async () => {
    const { verifier, refreshes } = harness(keySet(key), keySet(key, otherKey));
    const result = await verifier.verify(await sign(otherKey), { now: NOW });
    expect(result.ok).toBe(true);
    expect(refreshes()).toBe(1);
  });

  it.each<{
    name: string;
    token: () => Promise<string> | string;
    options?: Partial<OwnTokenVerifyOptions>;
    want: OwnTokenFailure;
  }>([
    { name: 'refuses an oversized token', token: () => 'a'.repeat(20_000), want: 'too_large' },
    { name: 'refuses a token not in compact form', token: () => 'a.b', want: 'not_compact' },
    { name: 'refuses a token that does not decode', token: () => 'e30.bm90LWpzb24.c2ln', want: 'malformed' },
    {
      name: 'refuses a token without kid',
      token: () => sign(key, claims(), { kid: '' }),
      want: 'unknown_key',
    },
    {
      name: 'refuses a kid still unknown after the refresh',
      token: () => sign(otherKey),
      want: 'unknown_key',
    },
    {
      name: 'refuses a token signed by another key under a known kid',
      token: () => sign(otherKey, claims(), { kid: key.kid }),
      want: 'invalid_signature',
    },
    {
      name: 'refuses an altered payload',
      token: async () => {
        const [header, , signature] = (await sign(key)).split('.');
        const altered = Buffer.from(JSON.stringify(claims({ sub: 'mallory' }))).toString('base64url');
        return `${header}.${altered}.${signature}`;
      },
      want: 'invalid_signature',
    },
    {
      name: 'refuses a token expired beyond the tolerance',
      token: () => sign(key, claims({ exp: NOW - TOLERANCE - 1 })),
      want: 'expired',
    },
    {
      name: 'refuses another typ (RFC 9068 §4)',
      token: () => sign(key, claims(), { typ: 'JWT' }),
      want: 'invalid_claims',
    },
    {
      name: 'refuses another issuer',
      token: () => sign(key, claims({ iss: 'https://idp.example' })),
      want: 'invalid_claims',
    },
    {
      name: 'refuses an audience it was not asked for',
      token: () => sign(key),
      options: { audience: ISSUER },
      want: 'invalid_claims',
    },
    {
      name: 'refuses a token without txn',
      token: () => sign(key, claims({ txn: undefined })),
      want: 'invalid_claims',
    },
    {
      name: 'refuses a non-string client_id',
      token: () => sign(key, claims({ client_id: 7 })),
      want: 'invalid_claims',
    },
    { name: 'refuses an empty subject', token: () => sign(key, claims({ sub: '' })), want: 'invalid_claims' },
    {
      name: 'refuses a token without iat',
      token: () => sign(key, claims({ iat: undefined })),
      want: 'invalid_claims',
    },
    {
      name: 'refuses iat beyond the tolerance in the future',
      token: () => sign(key, claims({ iat: NOW + TOLERANCE + 1, nbf: undefined })),
      want: 'invalid_claims',
    },
    {
      name: 'refuses a malformed act claim',
      token: () => sign(key, claims({ act: 'agent-a' })),
      want: 'invalid_claims',
    },
    {
      name: 'refuses a token lineage never recorded',
      token: () => sign(key, claims({ jti: 'jti-unknown' })),
      want: 'unknown_token',
    },
    {
      name: 'refuses a token of a chain started by a trusted issuer that was since removed',
      token: () => sign(key, claims({ jti: FROM_REMOVED_IDP })),
      want: 'untrusted_root',
    },
  ])('$name', async ({ token, options, want }) => {
    const { verifier } = harness(keySet(key));
    expect(await verifier.verify(await token(), { now: NOW, ...options })).toEqual({
      ok: false,
      reason: want,
    });
  });

  it('accepts a token of a chain whose trusted issuer is still registered', async () => {
    const { verifier } = harness(keySet(key));
    expect((await verifier.verify(await sign(key, claims({ jti: FROM_IDP })), { now: NOW })).ok).toBe(true);
  });

  it('accepts the audience it was asked for', async () => {
    const { verifier } = harness(keySet(key));
    const result = await verifier.verify(await sign(key, claims({ aud: ISSUER })), {
      now: NOW,
      audience: ISSUER,
    });
    expect(result.ok).toBe(true);
  });
});

describe('OwnTokenVerifier.verify against the digest lineage recorded (ADR 0028)', () => {
  /** kid-1 as a verifier that would check the signature with another public key. */
  const impostor = (): LoadedKey => ({ ...key, publicKey: otherKey.publicKey });

  it('accepts the recorded token by its digest, without checking its signature again', async () => {
    const token = await sign(key);
    const { verifier } = harness(keySet(impostor()), keySet(impostor()), tokenDigest(token));
    expect(await verifier.verify(token, { now: NOW })).toMatchObject({
      ok: true,
      value: { payload: claims() },
    });
  });

  afterEach(() => vi.restoreAllMocks());

  it('checks the signature where lineage holds no digest', async () => {
    const { verifier } = harness(keySet(impostor()));
    expect(await verifier.verify(await sign(key), { now: NOW })).toEqual({
      ok: false,
      reason: 'invalid_signature',
    });
  });

  it.each(['ES256', 'PS256', 'EdDSA'])(
    'checks a %s signature where lineage holds no digest with node:crypto, not WebCrypto',
    async (alg) => {
      const signer = await loadedKey('kid-alg', alg);
      const { verifier } = harness(keySet(signer));
      const token = await sign(signer);
      const end = token.lastIndexOf('.');
      const signature = Buffer.from(token.slice(end + 1), 'base64url');
      signature[0] = (signature[0] as number) ^ 1;
      const subtleVerify = vi.spyOn(globalThis.crypto.subtle, 'verify');
      expect((await verifier.verify(token, { now: NOW })).ok).toBe(true);
      expect(
        await verifier.verify(`${token.slice(0, end)}.${signature.toString('base64url')}`, { now: NOW }),
      ).toEqual({ ok: false, reason: 'invalid_signature' });
      expect(subtleVerify).not.toHaveBeenCalled();
    },
  );

  it.each<{
    name: string;
    token: (recorded: string) => Promise<string> | string;
    now?: number;
    want: OwnTokenFailure;
  }>([
    {
      name: 'refuses a well-signed token that is not the one recorded under its jti',
      token: () => sign(key, claims({ scope: 'calendar.write' })),
      want: 'invalid_signature',
    },
    {
      name: 'refuses the same claims signed again (ECDSA signatures differ): only the exact bytes match',
      token: () => sign(key),
      want: 'invalid_signature',
    },
    {
      name: 'refuses the recorded signature on altered claims',
      token: (recorded) => {
        const [header, , signature] = recorded.split('.');
        const altered = Buffer.from(JSON.stringify(claims({ sub: 'mallory' }))).toString('base64url');
        return `${header}.${altered}.${signature}`;
      },
      want: 'invalid_signature',
    },
    {
      name: 'refuses a forgery under a recorded jti signed by a key it does not hold',
      token: () => sign(otherKey),
      want: 'unknown_key',
    },
    {
      name: 'refuses the recorded token once expired',
      token: (recorded) => recorded,
      now: NOW + 300 + TOLERANCE + 1,
      want: 'expired',
    },
  ])('$name', async ({ token, now, want }) => {
    const recorded = await sign(key);
    const { verifier } = harness(keySet(key), keySet(key), tokenDigest(recorded));
    expect((await verifier.verify(recorded, { now: NOW })).ok).toBe(true);
    expect(await verifier.verify(await token(recorded), { now: now ?? NOW })).toEqual({
      ok: false,
      reason: want,
    });
  });
});

describe('OwnTokenVerifier.chainIsLive', () => {
  it('is false once any participant is not enabled, true otherwise', async () => {
    const { verifier } = harness(keySet(key));
    const result = await verifier.verify(await sign(key), { now: NOW });
    if (!result.ok) throw new Error(result.reason);
    expect(await verifier.chainIsLive(result.value)).toBe(false);
    expect(await verifier.chainIsLive({ ...result.value, participants: ['agent-hidden'] })).toBe(true);
  });
});
