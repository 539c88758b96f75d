import { describe, expect, it } from 'vitest';

import { decodeCompactJwt, type CompactJwtFailure } from '../../src/protocol/compact-jwt.js';
import { MAX_INPUT_TOKEN_LENGTH } from '../../src/protocol/constants.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const HEADER = b64({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' });
const PAYLOAD = b64({ iss: 'https://sts.example', sub: 'alice' });

describe('decodeCompactJwt', () => {
  it.each<{ name: string; token: string; want: CompactJwtFailure }>([
    {
      name: 'refuses a token over the length cap',
      token: 'a'.repeat(MAX_INPUT_TOKEN_LENGTH + 1),
      want: 'too_large',
    },
    { name: 'refuses an empty token', token: '', want: 'not_compact' },
    { name: 'refuses two parts', token: `${HEADER}.${PAYLOAD}`, want: 'not_compact' },
    { name: 'refuses an empty signature (alg none)', token: `${HEADER}.${PAYLOAD}.`, want: 'not_compact' },
    { name: 'refuses five parts (a JWE)', token: `${HEADER}.a.b.c.d`, want: 'not_compact' },
    {
      name: 'refuses characters outside base64url',
      token: `${HEADER}.${PAYLOAD}.c2l+Zw`,
      want: 'not_compact',
    },
    { name: 'refuses a payload that is not JSON', token: `${HEADER}.bm90LWpzb24.c2ln`, want: 'malformed' },
    {
      name: 'refuses a payload that is not an object',
      token: `${HEADER}.${b64([1])}.c2ln`,
      want: 'malformed',
    },
    { name: 'refuses a header that is not JSON', token: `bm90LWpzb24.${PAYLOAD}.c2ln`, want: 'malformed' },
  ])('$name', ({ token, want }) => {
    expect(decodeCompactJwt(token)).toEqual({ ok: false, reason: want });
  });

  it('decodes the header and claims of a compact JWS, unverified', () => {
    expect(decodeCompactJwt(`${HEADER}.${PAYLOAD}.c2ln`)).toEqual({
      ok: true,
      header: { alg: 'ES256', typ: 'at+jwt', kid: 'k1' },
      payload: { iss: 'https://sts.example', sub: 'alice' },
    });
  });

  it('accepts a token of exactly the length cap', () => {
    const padding = 'A'.repeat(MAX_INPUT_TOKEN_LENGTH - `${HEADER}.${PAYLOAD}.`.length);
    expect(decodeCompactJwt(`${HEADER}.${PAYLOAD}.${padding}`).ok).toBe(true);
  });
});
