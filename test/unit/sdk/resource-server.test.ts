/**
 * The pure parts of agent-sts/resource-server, table-driven: htu normalisation (RFC 9449 §4.3),
 * reading the `act` chain (RFC 8693 §4.1), the chain policy, reading credentials (RFC 6750 §2.1,
 * RFC 9449 §7.1), the WWW-Authenticate challenges (RFC 6750 §3, RFC 9449 §7.1, RFC 9728 §5.1),
 * the RFC 9728 metadata document and its URL, and the in-memory replay store.
 */
import { describe, expect, it } from 'vitest';
import {
  AgentTokenError,
  createMemoryReplayStore,
  htuMatches,
  normaliseHtu,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
  readCredentials,
  wwwAuthenticate,
  type AgentToken,
  type AgentTokenErrorCode,
} from '../../../src/sdk/resource-server/index.js';
import { checkChain } from '../../../src/sdk/resource-server/check-chain.js';
import { readChain } from '../../../src/sdk/resource-server/read-chain.js';
import { requestUrl } from '../../../src/sdk/resource-server/request-url.js';

async function codeOf(action: () => unknown): Promise<AgentTokenErrorCode | 'accepted'> {
  try {
    await action();
    return 'accepted';
  } catch (error) {
    if (error instanceof AgentTokenError) return error.code;
    throw error;
  }
}

describe('htu (RFC 9449 §4.3 check 9)', () => {
  it.each([
    ['https://api.example.com/events', 'https://api.example.com/events'],
    ['HTTPS://API.Example.COM/events?x=1#f', 'https://api.example.com/events'],
    ['https://api.example.com:443/events', 'https://api.example.com/events'],
    ['http://api.example.com:80/a/./b/../c', 'http://api.example.com/a/c'],
    ['https://api.example.com', 'https://api.example.com/'],
    ['https://api.example.com/%7euser/%2f', 'https://api.example.com/~user/%2F'],
    ['http://127.0.0.1:8080/x', 'http://127.0.0.1:8080/x'],
  ])('normalises %s to %s', (input, expected) => {
    expect(normaliseHtu(input)).toBe(expected);
  });

  it.each(['ftp://api.example.com/x', 'not a url', '/relative', 'https://user:pw@api.example.com/x'])(
    'refuses %s',
    (input) => {
      expect(normaliseHtu(input)).toBeUndefined();
    },
  );

  it('matches only the same scheme, host, port and path', () => {
    const url = 'https://api.example.com/events?page=2';
    expect(htuMatches('https://api.example.com/events', url)).toBe(true);
    expect(htuMatches('http://api.example.com/events', url)).toBe(false);
    expect(htuMatches('https://api.example.com:8443/events', url)).toBe(false);
    expect(htuMatches('https://api.example.com/events/', url)).toBe(false);
    expect(htuMatches('https://other.example.com/events', url)).toBe(false);
    expect(htuMatches(42, url)).toBe(false);
  });
});

describe('request URL of the adapters', () => {
  it('drops the query and joins a public URL with its path prefix', () => {
    expect(requestUrl({ protocol: 'http', host: '127.0.0.1:3000', path: '/x?y=1' })).toBe(
      'http://127.0.0.1:3000/x',
    );
    expect(
      requestUrl({ protocol: 'http', host: 'internal:80', path: '/x' }, 'https://api.example.com/v1/'),
    ).toBe('https://api.example.com/v1/x');
  });
});

describe('readChain (RFC 8693 §4.1)', () => {
  it('lists actors newest first', () => {
    expect(readChain({ sub: 'agent-b', act: { sub: 'agent-a', iss: 'https://idp' } })).toEqual([
      { subject: 'agent-b' },
      { subject: 'agent-a', issuer: 'https://idp' },
    ]);
    expect(readChain(undefined)).toEqual([]);
  });

  it.each([
    [null],
    ['agent-a'],
    [[{ sub: 'a' }]],
    [{}],
    [{ sub: 'a', act: { sub: 7 } }],
    [{ sub: 'a', iss: 1 }],
  ])('refuses a malformed chain %j', async (act) => {
    expect(await codeOf(() => readChain(act))).toBe('token_claims_invalid');
  });
});

describe('checkChain', () => {
  const token = (actors: string[]) =>
    ({ actors: actors.map((subject) => ({ subject })) }) as unknown as AgentToken;

  it.each([
    [['b', 'a'], { maxDepth: 2 }, 'accepted'],
    [['c', 'b', 'a'], { maxDepth: 2 }, 'chain_too_deep'],
    [[], { maxDepth: 0 }, 'accepted'],
    [['b', 'a'], { allowedActors: ['a', 'b'] }, 'accepted'],
    [['b', 'x'], { allowedActors: ['a', 'b'] }, 'chain_actor_not_allowed'],
    [['b', 'a'], { forbiddenActors: ['a'] }, 'chain_actor_forbidden'],
    [['b', 'a'], { check: () => false }, 'chain_refused'],
    [['b', 'a'], { check: async (t: AgentToken) => t.actors[0]?.subject === 'b' }, 'accepted'],
  ] as const)('%j with %j: %s', async (actors, policy, expected) => {
    expect(await codeOf(() => checkChain(token([...actors]), policy))).toBe(expected);
  });
});

describe('readCredentials', () => {
  it('reads Bearer and DPoP, the scheme in any case', () => {
    expect(readCredentials({ authorization: 'Bearer abc.def.ghi' })).toEqual({
      scheme: 'Bearer',
      token: 'abc.def.ghi',
      proof: undefined,
    });
    expect(readCredentials({ authorization: 'dpop abc.def.ghi', dpop: 'p.q.r' })).toEqual({
      scheme: 'DPoP',
      token: 'abc.def.ghi',
      proof: 'p.q.r',
    });
  });

  it.each([
    [{}, 'token_missing'],
    [{ authorization: '' }, 'token_missing'],
    [{ authorization: 'Basic dXNlcjpwdw==' }, 'token_missing'],
    [{ authorization: 'Bearer' }, 'request_malformed'],
    [{ authorization: 'Bearer a b' }, 'request_malformed'],
    [{ authorization: 'Bearer a"b' }, 'request_malformed'],
    [{ authorization: ['Bearer a', 'Bearer b'] }, 'request_malformed'],
    [{ authorization: 'DPoP a.b.c', dpop: ['p.q.r', 'p.q.s'] }, 'dpop_proof_invalid'],
    [{ authorization: 'DPoP a.b.c', dpop: 'p.q.r, p.q.s' }, 'dpop_proof_invalid'],
  ])('%j: %s', async (headers, expected) => {
    expect(await codeOf(() => readCredentials(headers))).toBe(expected);
  });
});

describe('wwwAuthenticate', () => {
  const metadata = 'https://api.example.com/.well-known/oauth-protected-resource';

  it('offers both schemes without an error code when no credentials came (RFC 6750 §3.1)', () => {
    expect(wwwAuthenticate(undefined, { resourceMetadata: metadata, dpopAlgorithms: ['ES256'] })).toEqual([
      `Bearer resource_metadata="${metadata}"`,
      `DPoP resource_metadata="${metadata}", algs="ES256"`,
    ]);
  });

  it('puts the error on the scheme the client used', () => {
    const expired = new AgentTokenError('token_expired', 'the access token has expired');
    expect(wwwAuthenticate(expired, { scheme: 'DPoP', dpopAlgorithms: ['ES256'], realm: 'api' })).toEqual([
      'Bearer realm="api"',
      'DPoP realm="api", error="invalid_token", error_description="the access token has expired", algs="ES256"',
    ]);
  });

  it('answers insufficient_scope with the scopes needed', () => {
    const error = new AgentTokenError('scope_insufficient', 'lacks', { requiredScopes: ['a', 'b'] });
    expect(error.status).toBe(403);
    expect(wwwAuthenticate(error, { scheme: 'Bearer', dpopAlgorithms: false })).toEqual([
      'Bearer error="insufficient_scope", error_description="lacks", scope="a b"',
    ]);
  });

  it('answers a bad proof with invalid_dpop_proof on the DPoP challenge (RFC 9449 §7.1)', () => {
    const error = new AgentTokenError('dpop_proof_replayed', 'used');
    expect(error.status).toBe(401);
    expect(wwwAuthenticate(error, { scheme: 'Bearer', dpopAlgorithms: ['ES256'] })).toEqual([
      'Bearer',
      'DPoP error="invalid_dpop_proof", error_description="used", algs="ES256"',
    ]);
  });

  it('maps every code to 400, 401, 403 or 503', () => {
    expect(new AgentTokenError('request_malformed', 'x')).toMatchObject({
      status: 400,
      error: 'invalid_request',
    });
    expect(new AgentTokenError('dpop_proof_required', 'x')).toMatchObject({
      status: 401,
      error: 'invalid_token',
    });
    expect(new AgentTokenError('chain_too_deep', 'x')).toMatchObject({ status: 401, error: 'invalid_token' });
    expect(new AgentTokenError('token_missing', 'x')).toMatchObject({ status: 401, error: undefined });
    expect(new AgentTokenError('jwks_unavailable', 'x')).toMatchObject({ status: 503, error: undefined });
  });

  it('escapes quotes and drops control characters', () => {
    const error = new AgentTokenError('token_malformed', 'a "quoted"\r\n text');
    expect(wwwAuthenticate(error, { dpopAlgorithms: false })).toEqual([
      'Bearer error="invalid_token", error_description="a \\"quoted\\" text"',
    ]);
  });
});

describe('RFC 9728 protected-resource metadata', () => {
  it('puts the well-known path between the host and the path (§3.1)', () => {
    expect(protectedResourceMetadataUrl('https://api.example.com').href).toBe(
      'https://api.example.com/.well-known/oauth-protected-resource',
    );
    expect(protectedResourceMetadataUrl('https://api.example.com/mcp').href).toBe(
      'https://api.example.com/.well-known/oauth-protected-resource/mcp',
    );
  });

  it('builds the §2 document', () => {
    expect(
      protectedResourceMetadata({
        resource: 'https://api.example.com/mcp',
        authorizationServers: ['https://sts.example.com'],
        scopesSupported: ['calendar.read'],
        dpopSigningAlgValuesSupported: ['ES256'],
      }),
    ).toEqual({
      resource: 'https://api.example.com/mcp',
      authorization_servers: ['https://sts.example.com'],
      bearer_methods_supported: ['header'],
      scopes_supported: ['calendar.read'],
      dpop_signing_alg_values_supported: ['ES256'],
    });
  });
});

describe('createMemoryReplayStore', () => {
  it('claims an id once until it expires, and is bounded', async () => {
    const store = createMemoryReplayStore({ max: 2 });
    const later = new Date(Date.now() + 60_000);
    expect(await store.claim('a', later)).toBe(true);
    expect(await store.claim('a', later)).toBe(false);
    expect(await store.claim('b', later)).toBe(true);
    expect(await store.claim('c', later)).toBe(true);
    // The oldest entry was dropped to stay within `max`.
    expect(await store.claim('a', later)).toBe(true);
  });
});
