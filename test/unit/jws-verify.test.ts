import { generateKeyPairSync, KeyObject, sign, webcrypto } from 'node:crypto';
import {
  createLocalJWKSet,
  EmbeddedJWK,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type CryptoKey,
  SignJWT,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  type ProtectedHeaderParameters,
} from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  validateJwtClaims,
  verifyJwt,
  verifyJwtWithEmbeddedJwk,
  type JwsVerificationKey,
} from '../../src/protocol/jws-verify.js';

const NOW = 1_900_000_000;
const ISSUER = 'https://idp.example';
const ALGS = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
  'Ed25519',
] as const;
type Alg = (typeof ALGS)[number];

interface Pair {
  readonly publicKey: CryptoKey;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}
const pairs = new Map<Alg, Pair>();

function pair(alg: Alg): Pair {
  const found = pairs.get(alg);
  if (!found) throw new Error(`no key for ${alg}`);
  return found;
}

beforeAll(async () => {
  for (const alg of ALGS) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    pairs.set(alg, { publicKey, privateKey, jwk: { ...(await exportJWK(publicKey)), kid: alg } });
  }
});

function claims(overrides: JWTPayload = {}): JWTPayload {
  return { iss: ISSUER, sub: 'alice', aud: 'sts', iat: NOW - 10, exp: NOW + 300, ...overrides };
}

function signed(
  alg: Alg,
  payload: JWTPayload = claims(),
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, kid: alg, ...header }).sign(pair(alg).privateKey);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWS of any header and payload text, signed ES256 by node:crypto (no jose checks). */
function forged(header: Record<string, unknown>, payload: string, key = pair('ES256').privateKey): string {
  const input = `${b64(header)}.${payload}`;
  const signature = sign('sha256', Buffer.from(input), {
    key: KeyObject.from(key),
    dsaEncoding: 'ieee-p1363',
  });
  return `${input}.${signature.toString('base64url')}`;
}

function tamperPayload(token: string): string {
  const [header, , signature] = token.split('.');
  return `${header}.${b64(claims({ sub: 'mallory' }))}.${signature}`;
}

function tamperSignature(token: string): string {
  const end = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(end + 1), 'base64url');
  signature[signature.length - 1] = (signature[signature.length - 1] as number) ^ 1;
  return `${token.slice(0, end)}.${signature.toString('base64url')}`;
}

function truncateSignature(token: string): string {
  const end = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(end + 1), 'base64url');
  return `${token.slice(0, end)}.${signature.subarray(1).toString('base64url')}`;
}

const local = (...algs: Alg[]): JWTVerifyGetKey =>
  createLocalJWKSet({ keys: algs.map((alg) => pair(alg).jwk) });

/** The options every row starts from, as input-token.ts passes them. */
const BASE: JWTVerifyOptions = {
  algorithms: [...ALGS],
  clockTolerance: 15,
  currentDate: new Date(NOW * 1000),
  requiredClaims: ['exp', 'sub'],
};

interface Row {
  readonly name: string;
  readonly token: () => Promise<string> | string;
  readonly key: () => Promise<JwsVerificationKey> | JwsVerificationKey;
  readonly options?: JWTVerifyOptions;
  /** 'ok', or the name of the error class both must throw. */
  readonly want: string;
}

type Outcome =
  | { ok: true; payload: JWTPayload; protectedHeader: unknown; keyResolved: boolean }
  | { ok: false; error: string; code: unknown; message: string };

async function outcome(run: () => Promise<{ payload: JWTPayload; protectedHeader: unknown; key?: unknown }>) {
  try {
    const { payload, protectedHeader, key } = await run();
    return { ok: true, payload, protectedHeader, keyResolved: key !== undefined } satisfies Outcome;
  } catch (error) {
    const { name, message, code } = error as Error & { code?: unknown };
    return { ok: false, error: name, code, message } satisfies Outcome;
  }
}

function perAlg(alg: Alg): Row[] {
  return [
    {
      name: `${alg}: accepts a token SignJWT signed`,
      token: () => signed(alg),
      key: () => pair(alg).publicKey,
      want: 'ok',
    },
    {
      name: `${alg}: accepts it through a local JWKS`,
      token: () => signed(alg),
      key: () => local(...ALGS),
      want: 'ok',
    },
    {
      name: `${alg}: refuses a tampered payload`,
      token: async () => tamperPayload(await signed(alg)),
      key: () => local(alg),
      want: 'JWSSignatureVerificationFailed',
    },
    {
      name: `${alg}: refuses a tampered signature`,
      token: async () => tamperSignature(await signed(alg)),
      key: () => pair(alg).publicKey,
      want: 'JWSSignatureVerificationFailed',
    },
    {
      name: `${alg}: refuses a signature a byte short`,
      token: async () => truncateSignature(await signed(alg)),
      key: () => pair(alg).publicKey,
      want: 'JWSSignatureVerificationFailed',
    },
    {
      name: `${alg}: refuses an alg outside the allow-list`,
      token: () => signed(alg),
      key: () => pair(alg).publicKey,
      options: { ...BASE, algorithms: ALGS.filter((other) => other !== alg) },
      want: 'JOSEAlgNotAllowed',
    },
    {
      name: `${alg}: refuses a key of the wrong type for the alg`,
      token: () => signed(alg),
      key: () => pair(alg.startsWith('ES') ? 'RS256' : 'ES256').publicKey,
      want: 'TypeError',
    },
    {
      name: `${alg}: refuses the private key`,
      token: () => signed(alg),
      key: () => pair(alg).privateKey,
      want: 'TypeError',
    },
  ];
}

async function importRsa(
  bits: number,
  name: string,
  hash: string,
): Promise<{ publicKey: CryptoKey; token: string }> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const input = `${b64({ alg: 'RS256' })}.${b64(claims())}`;
  const signature = sign('sha256', Buffer.from(input), privateKey).toString('base64url');
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const imported = await webcrypto.subtle.importKey('spki', spki, { name, hash }, true, ['verify']);
  return { publicKey: imported, token: `${input}.${signature}` };
}

const shortRsa = importRsa(1024, 'RSASSA-PKCS1-v1_5', 'SHA-256');

const rows: Row[] = [
  ...ALGS.flatMap(perAlg),
  // Keys that do not fit the algorithm (jose's checkCryptoKey and checkModulusLength).
  {
    name: 'refuses a P-384 key for ES256',
    token: () => signed('ES256'),
    key: () => pair('ES384').publicKey,
    want: 'TypeError',
  },
  {
    name: 'refuses an RSASSA-PKCS1 key for PS256',
    token: () => signed('PS256'),
    key: () => pair('RS256').publicKey,
    want: 'TypeError',
  },
  {
    name: 'refuses an RS256 key for RS384 (the hash is bound to the key)',
    token: () => signed('RS384'),
    key: () => pair('RS256').publicKey,
    want: 'TypeError',
  },
  {
    name: 'refuses an RSA key under 2048 bits',
    token: async () => (await shortRsa).token,
    key: async () => (await shortRsa).publicKey,
    want: 'TypeError',
  },
  {
    name: 'refuses an Ed25519 key for ES256',
    token: () => signed('ES256'),
    key: () => pair('Ed25519').publicKey,
    want: 'TypeError',
  },
  {
    name: 'refuses a P-256 key without the verify usage',
    token: () => signed('ES256'),
    key: () =>
      webcrypto.subtle.importKey('jwk', pair('ES256').jwk, { name: 'ECDSA', namedCurve: 'P-256' }, true, []),
    want: 'TypeError',
  },
  // Key sets: the JWKS errors reach the caller as jose raised them.
  {
    name: 'refuses a kid the set does not hold',
    token: () => signed('ES256', claims(), { kid: 'unknown' }),
    key: () => local(...ALGS),
    want: 'JWKSNoMatchingKey',
  },
  {
    name: 'refuses a token two keys of the set match',
    token: () => signed('ES256', claims(), { kid: undefined }),
    key: () => createLocalJWKSet({ keys: [pair('ES256').jwk, { ...pair('ES256').jwk, kid: 'other' }] }),
    want: 'JWKSMultipleMatchingKeys',
  },
  {
    name: 'passes on a key function timing out',
    token: () => signed('ES256'),
    key: () => () => Promise.reject(new joseErrors.JWKSTimeout()),
    want: 'JWKSTimeout',
  },
  // Headers jose refuses, or treats as it alone does.
  {
    name: 'refuses a critical header parameter',
    token: () => forged({ alg: 'ES256', crit: ['urn:example:ext'], 'urn:example:ext': 1 }, b64(claims())),
    key: () => pair('ES256').publicKey,
    want: 'JOSENotSupported',
  },
  {
    name: 'refuses an unencoded payload (b64 false)',
    token: () => forged({ alg: 'ES256', crit: ['b64'], b64: false }, b64(claims())),
    key: () => pair('ES256').publicKey,
    want: 'JWTInvalid',
  },
  {
    name: 'refuses alg none',
    token: () => `${b64({ alg: 'none' })}.${b64(claims())}.`,
    key: () => pair('ES256').publicKey,
    want: 'JOSEAlgNotAllowed',
  },
  {
    name: 'refuses HS256',
    token: () => forged({ alg: 'HS256' }, b64(claims())),
    key: () => pair('ES256').publicKey,
    want: 'JOSEAlgNotAllowed',
  },
  {
    name: 'refuses a header that is not JSON',
    token: () => `bm90LWpzb24.${b64(claims())}.c2ln`,
    key: () => pair('ES256').publicKey,
    want: 'JWSInvalid',
  },
  {
    name: 'refuses two parts',
    token: async () => (await signed('ES256')).split('.').slice(0, 2).join('.'),
    key: () => pair('ES256').publicKey,
    want: 'JWSInvalid',
  },
  {
    name: 'refuses a signature that is not base64url',
    token: async () => `${(await signed('ES256')).slice(0, -2)}+/`,
    key: () => pair('ES256').publicKey,
    want: 'JWSInvalid',
  },
  {
    name: 'refuses a well-signed payload that is not base64url',
    token: () => forged({ alg: 'ES256' }, 'a+b'),
    key: () => pair('ES256').publicKey,
    want: 'JWSInvalid',
  },
  {
    name: 'refuses a well-signed payload outside ASCII',
    token: () => forged({ alg: 'ES256' }, `${b64(claims())}é`),
    key: () => pair('ES256').publicKey,
    want: 'JWSInvalid',
  },
  {
    name: 'refuses a well-signed payload that is not a JSON object',
    token: () => forged({ alg: 'ES256' }, b64([1, 2])),
    key: () => pair('ES256').publicKey,
    want: 'JWTInvalid',
  },
  // Claims: jose's own checks, with the same options.
  {
    name: 'refuses an expired token',
    token: () => signed('ES256', claims({ exp: NOW - 16 })),
    key: () => local('ES256'),
    want: 'JWTExpired',
  },
  {
    name: 'accepts a token expired within the clock tolerance',
    token: () => signed('ES256', claims({ exp: NOW - 14 })),
    key: () => local('ES256'),
    want: 'ok',
  },
  {
    name: 'refuses a token not yet valid (nbf)',
    token: () => signed('PS256', claims({ nbf: NOW + 60 })),
    key: () => local('PS256'),
    want: 'JWTClaimValidationFailed',
  },
  {
    name: 'refuses a token missing a required claim',
    token: () => signed('EdDSA', claims({ sub: undefined })),
    key: () => local('EdDSA'),
    want: 'JWTClaimValidationFailed',
  },
  {
    name: 'refuses another audience',
    token: () => signed('RS256'),
    key: () => local('RS256'),
    options: { ...BASE, audience: 'someone-else' },
    want: 'JWTClaimValidationFailed',
  },
  {
    name: 'accepts the audience it names',
    token: () => signed('RS256', claims({ aud: ['x', 'sts'] })),
    key: () => local('RS256'),
    options: { ...BASE, audience: 'sts' },
    want: 'ok',
  },
  {
    name: 'refuses another issuer',
    token: () => signed('ES384'),
    key: () => local('ES384'),
    options: { ...BASE, issuer: 'https://other.example' },
    want: 'JWTClaimValidationFailed',
  },
  {
    name: 'refuses another typ',
    token: () => signed('ES256', claims(), { typ: 'JWT' }),
    key: () => local('ES256'),
    options: { ...BASE, typ: 'at+jwt' },
    want: 'JWTClaimValidationFailed',
  },
  {
    name: 'accepts the typ it expects, however it is spelt (application/ prefix, case)',
    token: () => signed('ES256', claims(), { typ: 'application/AT+JWT' }),
    key: () => local('ES256'),
    options: { ...BASE, typ: 'at+jwt' },
    want: 'ok',
  },
  {
    name: 'refuses a token older than maxTokenAge',
    token: () => signed('ES512', claims({ iat: NOW - 600 })),
    key: () => local('ES512'),
    options: { ...BASE, maxTokenAge: 60 },
    want: 'JWTExpired',
  },
  {
    name: 'accepts a token with no options at all',
    token: () => signed('ES256'),
    key: () => pair('ES256').publicKey,
    options: {},
    want: 'ok',
  },
];

describe('verifyJwt', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each(rows)('$name, as jwtVerify does', async ({ token, key, options = BASE, want }) => {
    const jws = await token();
    const theirs = await outcome(async () => jwtVerify(jws, (await key()) as never, options));
    const ours = await outcome(async () => verifyJwt(jws, await key(), options));
    expect(theirs.ok ? 'ok' : theirs.error).toBe(want);
    expect(ours).toEqual(theirs);
  });

  it.each(ALGS)('checks a %s signature with node:crypto, not WebCrypto', async (alg) => {
    const jws = await signed(alg);
    const subtleVerify = vi.spyOn(globalThis.crypto.subtle, 'verify');
    await expect(verifyJwt(jws, local(alg), BASE)).resolves.toMatchObject({ payload: { sub: 'alice' } });
    await expect(verifyJwt(tamperSignature(jws), local(alg), BASE)).rejects.toBeInstanceOf(
      joseErrors.JWSSignatureVerificationFailed,
    );
    expect(subtleVerify).not.toHaveBeenCalled();
  });
});

/** Whether jwtVerify threw `error` at its claim step, after the signature verified. */
function claimStepError(error: string, message: string): boolean {
  return (
    ['JWTExpired', 'JWTClaimValidationFailed', 'JWTInvalid'].includes(error) ||
    (error === 'JWSInvalid' && message === 'Failed to base64url decode the payload')
  );
}

describe('validateJwtClaims', () => {
  it.each(rows)(
    '$name: the claim step alone, as jwtVerify answers',
    async ({ token, key, options = BASE }) => {
      const jws = await token();
      const theirs = await outcome(async () => jwtVerify(jws, (await key()) as never, options));
      if (!theirs.ok && !claimStepError(theirs.error, theirs.message)) return;
      const [header = '', payload = ''] = jws.split('.');
      const protectedHeader = JSON.parse(
        Buffer.from(header, 'base64url').toString(),
      ) as ProtectedHeaderParameters;
      // An unencoded payload (RFC 7797) is handed to jwtVerify whole: it never reaches this step.
      if (protectedHeader.b64 === false) return;
      const ours = await outcome(async () => ({
        payload: validateJwtClaims(protectedHeader, payload, options),
        protectedHeader: theirs.ok ? theirs.protectedHeader : undefined,
        key: theirs.ok && theirs.keyResolved ? true : undefined,
      }));
      expect(ours).toEqual(theirs);
    },
  );
});

/** A DPoP-like proof: the public key in the header's `jwk`. */
async function proof(alg: Alg, jwk: unknown = publicJwkOf(alg), signer: Alg = alg): Promise<string> {
  return new SignJWT({ jti: 'j1', htm: 'POST', htu: 'https://sts.example/token', iat: NOW })
    .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk: jwk as JWK })
    .sign(pair(signer).privateKey);
}

function publicJwkOf(alg: Alg): JWK {
  const { kid: _kid, ...jwk } = pair(alg).jwk;
  return jwk;
}

const DPOP: JWTVerifyOptions = { algorithms: ['ES256', 'PS256', 'EdDSA', 'Ed25519'], typ: 'dpop+jwt' };

const embeddedRows: { name: string; token: () => Promise<string>; want: string }[] = [
  { name: 'accepts an ES256 proof', token: () => proof('ES256'), want: 'ok' },
  { name: 'accepts a PS256 proof', token: () => proof('PS256'), want: 'ok' },
  { name: 'accepts an EdDSA proof', token: () => proof('EdDSA'), want: 'ok' },
  {
    name: 'refuses a proof with a tampered signature',
    token: () => proof('ES256', publicJwkOf('ES256'), 'ES256').then(tamperSignature),
    want: 'JWSSignatureVerificationFailed',
  },
  { name: 'refuses a proof with no jwk', token: () => proof('ES256', null), want: 'JWSInvalid' },
  {
    name: 'refuses a private jwk',
    token: async () => proof('ES256', await exportJWK(pair('ES256').privateKey)),
    want: 'JWSInvalid',
  },
  {
    name: 'refuses a jwk whose alg is another',
    token: () => proof('ES256', { ...publicJwkOf('ES256'), alg: 'ES384' }),
    want: 'JWSInvalid',
  },
  {
    name: 'refuses a jwk for encryption',
    token: () => proof('ES256', { ...publicJwkOf('ES256'), use: 'enc' }),
    want: 'JWSInvalid',
  },
  {
    name: 'refuses an RSA jwk for ES256',
    token: () => proof('ES256', publicJwkOf('PS256')),
    want: 'JOSENotSupported',
  },
  {
    name: 'refuses a P-384 jwk for ES256',
    token: () => proof('ES256', publicJwkOf('ES384')),
    want: 'DataError',
  },
  { name: 'refuses an alg outside the allow-list', token: () => proof('ES384'), want: 'JOSEAlgNotAllowed' },
];

describe('verifyJwtWithEmbeddedJwk', () => {
  it.each(embeddedRows)('$name, as jwtVerify with EmbeddedJWK does', async ({ token, want }) => {
    const jws = await token();
    const theirs = await outcome(() => jwtVerify(jws, EmbeddedJWK, DPOP));
    const ours = await outcome(() => verifyJwtWithEmbeddedJwk(jws, DPOP));
    expect(theirs.ok ? 'ok' : theirs.error).toBe(want);
    expect(ours).toEqual(theirs);
  });
});
