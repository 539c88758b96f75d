/**
 * verifyAgentToken against a running agent-sts: real tokens of chains of depth 0 to 2 are read
 * (subject, actors newest first, scopes, txn, client_id); every RFC 9068 check refuses with its own
 * code; required scopes and the chain policy refuse; a token signed by a key the resource has not
 * seen is accepted after a refetch of the JWKS; a DPoP-bound token is refused as Bearer, accepted
 * with a proof for this request, and refused when the proof is replayed, for another URL, another
 * method, another token, signed by another key, or stale (RFC 9449 §4.3, §7).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgentTokenError,
  createAgentStsKeySet,
  createMemoryReplayStore,
  verifyAgentToken,
  type AgentTokenErrorCode,
  type VerifyAgentTokenOptions,
} from '../../../src/sdk/resource-server/index.js';
import { dpopProof, generateDpopKey, type DpopKey } from '../../helpers/dpop.js';
import { decodeJwt, decodeProtectedHeader } from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { adminApi } from '../admin/admin-client.js';
import { registerWorld, signWithServerKey } from './helpers.js';

let server: TestServer;
let world: Awaited<ReturnType<typeof registerWorld>>;
let options: VerifyAgentTokenOptions;

beforeAll(async () => {
  server = await startTestServer();
  world = await registerWorld(server);
  options = {
    issuer: server.config.issuer,
    audience: world.calendar,
    keys: createAgentStsKeySet({ issuer: server.config.issuer, cooldownDuration: 0 }),
  };
});

afterAll(async () => {
  await server?.close();
});

async function refusal(promise: Promise<unknown>): Promise<AgentTokenErrorCode> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof AgentTokenError))
    throw new Error(`expected an AgentTokenError, got ${String(error)}`);
  return error.code;
}

describe('real tokens', () => {
  it("reads an agent's own token: the agent is subject and client, no actors", async () => {
    const token = await world.hop0();
    const claims = decodeJwt(token);
    const result = await verifyAgentToken(token, { ...options, requiredScopes: ['calendar.read'] });
    expect(result).toMatchObject({
      subject: world.ids.a,
      clientId: world.ids.a,
      actors: [],
      scopes: ['calendar.read', 'calendar.write'],
      txn: claims.txn,
      jti: claims.jti,
      issuer: server.config.issuer,
      audience: world.calendar,
      binding: undefined,
    });
    expect(result.expiresAt.getTime()).toBe((claims.exp as number) * 1000);
  });

  it('reads the chain of a hop-1 and a hop-2 token, newest actor first', async () => {
    const one = await verifyAgentToken(await world.hop1(), options);
    expect(one).toMatchObject({
      subject: world.ids.a,
      clientId: world.ids.b,
      actors: [{ subject: world.ids.b }],
    });
    const two = await verifyAgentToken(await world.hop2(), options);
    expect(two).toMatchObject({
      subject: world.ids.a,
      clientId: world.ids.c,
      actors: [{ subject: world.ids.c }, { subject: world.ids.b }],
    });
  });

  it('discovers the jwks_uri from the issuer metadata', async () => {
    const keys = createAgentStsKeySet({ issuer: server.config.issuer });
    await expect(verifyAgentToken(await world.hop0(), { ...options, keys })).resolves.toMatchObject({
      subject: world.ids.a,
    });
  });
});

describe('RFC 9068 checks', () => {
  it('refuses a token for another audience', async () => {
    expect(await refusal(verifyAgentToken(await world.hop0(), { ...options, audience: world.ids.b }))).toBe(
      'token_audience_invalid',
    );
  });

  it('refuses a token with several audiences, even when one is this resource', async () => {
    const token = await signWithServerKey(server, { aud: [world.calendar, 'https://other.example'] });
    expect(await refusal(verifyAgentToken(token, options))).toBe('token_audience_invalid');
  });

  it('refuses another issuer', async () => {
    expect(
      await refusal(verifyAgentToken(await world.hop0(), { ...options, issuer: 'https://evil.example' })),
    ).toBe('token_issuer_invalid');
  });

  it('refuses a JWT that is not an at+jwt access token', async () => {
    for (const typ of ['JWT', 'dpop+jwt', undefined]) {
      const token = await signWithServerKey(server, { aud: world.calendar }, { typ });
      expect(await refusal(verifyAgentToken(token, options)), String(typ)).toBe('token_type_invalid');
    }
  });

  it('refuses an expired token and one not valid yet, within a bounded skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await signWithServerKey(server, { aud: world.calendar, iat: now - 100, exp: now - 10 });
    expect(await refusal(verifyAgentToken(expired, options))).toBe('token_expired');
    await expect(verifyAgentToken(expired, { ...options, clockTolerance: 30 })).resolves.toBeDefined();
    const early = await signWithServerKey(server, { aud: world.calendar, nbf: now + 60 });
    expect(await refusal(verifyAgentToken(early, options))).toBe('token_not_yet_valid');
    await expect(verifyAgentToken(expired, { ...options, clockTolerance: 3600 })).rejects.toThrow(TypeError);
  });

  it('refuses a token without client_id, with a malformed act, or bound by another method', async () => {
    const noClient = await signWithServerKey(server, { aud: world.calendar, client_id: undefined });
    expect(await refusal(verifyAgentToken(noClient, options))).toBe('token_claims_invalid');
    const badAct = await signWithServerKey(server, { aud: world.calendar, act: { act: { sub: 'a' } } });
    expect(await refusal(verifyAgentToken(badAct, options))).toBe('token_claims_invalid');
    const mtls = await signWithServerKey(server, { aud: world.calendar, cnf: { 'x5t#S256': 'abc' } });
    expect(await refusal(verifyAgentToken(mtls, options))).toBe('token_binding_unsupported');
  });

  it('refuses a forged signature, an unexpected alg, and garbage', async () => {
    const token = await world.hop0();
    const [header, payload] = token.split('.');
    const forged = `${header}.${payload}.${Buffer.alloc(64).toString('base64url')}`;
    expect(await refusal(verifyAgentToken(forged, options))).toBe('token_signature_invalid');
    expect(await refusal(verifyAgentToken(token, { ...options, algorithms: ['PS256'] }))).toBe(
      'token_signature_invalid',
    );
    expect(await refusal(verifyAgentToken('not.a.jwt', options))).toBe('token_malformed');
  });
});

describe('scopes and the chain policy', () => {
  it('refuses a token without a required scope, naming the scopes needed', async () => {
    const token = await world.hop0('calendar.read');
    const error = await verifyAgentToken(token, { ...options, requiredScopes: ['calendar.write'] }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({
      code: 'scope_insufficient',
      status: 403,
      requiredScopes: ['calendar.write'],
    });
  });

  it('refuses a chain too deep, with an actor not allowed, with a forbidden actor, or refused by the callback', async () => {
    const token = await world.hop2();
    const { b, c } = world.ids;
    expect(await refusal(verifyAgentToken(token, { ...options, chain: { maxDepth: 1 } }))).toBe(
      'chain_too_deep',
    );
    expect(await refusal(verifyAgentToken(token, { ...options, chain: { allowedActors: [b] } }))).toBe(
      'chain_actor_not_allowed',
    );
    expect(await refusal(verifyAgentToken(token, { ...options, chain: { forbiddenActors: [c] } }))).toBe(
      'chain_actor_forbidden',
    );
    const check = (result: { actors: readonly { subject: string }[] }) => result.actors.at(-1)?.subject !== b;
    expect(await refusal(verifyAgentToken(token, { ...options, chain: { check } }))).toBe('chain_refused');
    await expect(
      verifyAgentToken(token, {
        ...options,
        chain: { maxDepth: 2, allowedActors: [b, c], check: () => true },
      }),
    ).resolves.toMatchObject({ actors: [{ subject: c }, { subject: b }] });
  });
});

describe('key rotation', () => {
  it('accepts a token signed by a key it has not seen, after refetching the JWKS', async () => {
    const keys = createAgentStsKeySet({ issuer: server.config.issuer, cooldownDuration: 0 });
    const before = await world.hop0();
    await verifyAgentToken(before, { ...options, keys });
    // An emergency replacement: the new key signs at once, unseen by the cached JWKS.
    const kid = String(decodeProtectedHeader(before).kid);
    const revoked = await adminApi(server).post(`/admin/keys/${encodeURIComponent(kid)}/revoke`);
    expect(revoked.status, revoked.text).toBe(200);
    const after = await world.hop0();
    expect(decodeProtectedHeader(after).kid).not.toBe(kid);
    await expect(verifyAgentToken(after, { ...options, keys })).resolves.toMatchObject({
      subject: world.ids.a,
    });
    // ... and the token of the revoked key, gone from the JWKS, is refused.
    expect(await refusal(verifyAgentToken(before, { ...options, keys }))).toBe('token_key_unknown');
  });
});

describe('an unreachable issuer', () => {
  it('answers jwks_unavailable (503), not a verdict on the token, for discovery and for the JWKS', async () => {
    const token = await world.hop0();
    const unreachable = 'http://127.0.0.1:9';
    const discovery = createAgentStsKeySet({ issuer: unreachable, timeoutDuration: 2_000 });
    const error = await verifyAgentToken(token, { ...options, keys: discovery }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: 'jwks_unavailable', status: 503 });
    const jwks = createAgentStsKeySet({ issuer: server.config.issuer, jwksUri: `${unreachable}/jwks` });
    expect(await refusal(verifyAgentToken(token, { ...options, keys: jwks }))).toBe('jwks_unavailable');
  });
});

describe('DPoP-bound tokens (RFC 9449 §7)', () => {
  const url = () => `${world.calendar}/events`;
  let key: DpopKey;
  let bound: string;
  let dpopOptions: VerifyAgentTokenOptions;

  beforeAll(async () => {
    ({ token: bound, key } = await world.boundHop0());
    dpopOptions = { ...options, dpop: { replayStore: createMemoryReplayStore() } };
  });

  /** A proof for GET <calendar>/events with `bound`, any claim overridable. */
  function proof(claims: Record<string, unknown> = {}, signWith: DpopKey = key) {
    return dpopProof(server, signWith, {
      claims: {
        htm: 'GET',
        htu: url(),
        ath: createHash('sha256').update(bound).digest('base64url'),
        ...claims,
      },
    });
  }

  function present(dpopProofValue: string | undefined, scheme: 'Bearer' | 'DPoP' = 'DPoP', method = 'GET') {
    return verifyAgentToken(bound, {
      ...dpopOptions,
      request: { scheme, dpopProof: dpopProofValue, method, url: `${url()}?page=2` },
    });
  }

  it('refuses the bound token as a Bearer token, with or without a proof', async () => {
    expect(await refusal(verifyAgentToken(bound, options))).toBe('dpop_proof_required');
    expect(await refusal(verifyAgentToken(bound, dpopOptions))).toBe('dpop_proof_required');
    expect(await refusal(present(await proof(), 'Bearer'))).toBe('dpop_proof_required');
  });

  it('accepts it with a valid proof for this request, and reports the binding', async () => {
    await expect(present(await proof())).resolves.toMatchObject({
      subject: world.ids.a,
      binding: { method: 'dpop', jkt: key.jkt },
    });
  });

  it('refuses a replayed proof', async () => {
    const once = await proof();
    await present(once);
    expect(await refusal(present(once))).toBe('dpop_proof_replayed');
  });

  it('refuses a proof for another URL, another method, another token or without ath', async () => {
    expect(await refusal(present(await proof({ htu: `${world.calendar}/other` })))).toBe('dpop_url_mismatch');
    expect(await refusal(present(await proof(), 'DPoP', 'POST'))).toBe('dpop_method_mismatch');
    expect(await refusal(present(await proof({ ath: 'x'.repeat(43) })))).toBe('dpop_ath_mismatch');
    expect(await refusal(present(await proof({ ath: undefined })))).toBe('dpop_ath_mismatch');
  });

  it('refuses a proof of another key, a stale proof, no proof and a proof not signed by its jwk', async () => {
    expect(await refusal(present(await proof({}, await generateDpopKey())))).toBe('dpop_key_mismatch');
    const stale = await proof({ iat: Math.floor(Date.now() / 1000) - 600 });
    expect(await refusal(present(stale))).toBe('dpop_proof_stale');
    const ahead = await proof({ iat: Math.floor(Date.now() / 1000) + 600 });
    expect(await refusal(present(ahead))).toBe('dpop_proof_stale');
    expect(await refusal(present(undefined))).toBe('dpop_proof_invalid');
    const other = await generateDpopKey();
    const forged = await dpopProof(server, key, {
      claims: { htm: 'GET', htu: url() },
      signingKey: other.privateKey,
    });
    expect(await refusal(present(forged))).toBe('dpop_proof_invalid');
  });

  it('refuses an unbound token presented with the DPoP scheme, and unbound tokens when DPoP is required', async () => {
    const unbound = await world.hop0();
    const request = { scheme: 'DPoP' as const, dpopProof: await proof(), method: 'GET', url: url() };
    expect(await refusal(verifyAgentToken(unbound, { ...dpopOptions, request }))).toBe(
      'dpop_token_not_bound',
    );
    const required = { ...dpopOptions, dpop: { replayStore: createMemoryReplayStore(), required: true } };
    expect(await refusal(verifyAgentToken(unbound, required))).toBe('dpop_token_not_bound');
  });
});
