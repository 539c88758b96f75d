import { describe, expect, it } from 'vitest';
import { clientAssertionProblem } from '../../src/protocol/client-assertion-claims.js';

const ISSUER = 'https://sts.example';
const NOW = 1_800_000_000;
const context = { clientId: 'agent-a', issuer: ISSUER, now: NOW, clockToleranceSeconds: 15 };
const valid = { iss: 'agent-a', sub: 'agent-a', aud: ISSUER, jti: 'j-1', iat: NOW, exp: NOW + 60 };

describe('clientAssertionProblem: RFC 10070 §4 audience', () => {
  it.each<[string, unknown, boolean]>([
    ['the issuer as a string', ISSUER, true],
    ['a one-element array holding the issuer', [ISSUER], true],
    ['the token endpoint URL', `${ISSUER}/token`, false],
    ['the issuer beside the token endpoint URL', [ISSUER, `${ISSUER}/token`], false],
    ['the issuer beside another audience', ['https://other.example', ISSUER], false],
    ['the issuer twice', [ISSUER, ISSUER], false],
    ['an empty array', [], false],
    ['the issuer with a trailing slash', `${ISSUER}/`, false],
    ['absent', undefined, false],
  ])('aud %s → accepted: %s', (_name, aud, accepted) => {
    const problem = clientAssertionProblem({ ...valid, aud }, { alg: 'ES256' }, context);
    expect(problem === null, String(problem)).toBe(accepted);
  });
});

describe('clientAssertionProblem: typ (RFC 10070 §4, RFC 8725 §3.11)', () => {
  it.each<[unknown, boolean]>([
    [undefined, true],
    ['JWT', true],
    ['client-authentication+jwt', true],
    ['application/client-authentication+jwt', true],
    ['at+jwt', false],
    ['dpop+jwt', false],
    ['secevent+jwt', false],
    ['', false],
    [7, false],
  ])('typ %j → accepted: %s', (typ, accepted) => {
    const header = typ === undefined ? { alg: 'ES256' } : { alg: 'ES256', typ };
    expect(clientAssertionProblem(valid, header, context) === null).toBe(accepted);
  });
});
