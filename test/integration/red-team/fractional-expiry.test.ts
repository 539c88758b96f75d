/**
 * Red team: RFC 7519 lets a trusted issuer's `exp` be fractional (NumericDate). A hop never
 * outlives its subject token, but the token endpoint must still answer with whole seconds:
 * `expires_in` is an integer number of seconds (RFC 6749 §5.1) and many clients parse it as one,
 * and the issued `exp` stays within the subject's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
} from '../../helpers/fixtures.js';
import { createExternalIssuer, exchange, type ExternalIssuer, type TestAgent } from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
const API = `https://api-${suffix}.example/v1`;
let server: TestServer;
let idp: ExternalIssuer;
let agent: TestAgent;

beforeAll(async () => {
  server = await startTestServer();
  idp = await createExternalIssuer(`https://idp-${suffix}.example`);
  await registerTrustedIssuer(server, {
    issuer: idp.issuer,
    jwks: idp.jwks,
    audiences: [`https://sts-${suffix}.example`],
  });
  await registerResource(server, { id: API, scopes: ['api.read'] });
  agent = await registerAgent(server, {
    id: `frac-${suffix}`,
    allowedScopes: ['api.read'],
    allowedAudiences: [API],
  });
});

afterAll(async () => {
  await server.close();
});

describe('a subject token with a fractional exp', () => {
  it('issues a token with whole-second exp and expires_in, never past the subject', async () => {
    const subjectExp = Math.floor(Date.now() / 1000) + 120.75;
    const subject = await idp.sign({ sub: 'alice', aud: agent.id, scope: 'api.read', exp: subjectExp });
    const { claims, response } = await exchange(server, agent, { subject_token: subject, audience: API });
    expect(Number.isInteger(response.body.expires_in), String(response.body.expires_in)).toBe(true);
    expect(Number.isInteger(claims.exp), String(claims.exp)).toBe(true);
    expect(claims.exp as number).toBeLessThanOrEqual(subjectExp);
    expect(response.body.expires_in).toBe((claims.exp as number) - (claims.iat as number));
  });
});
