/**
 * Red team: a trusted issuer's token addressed to one agent *and* to agent-sts (an `aud` array
 * such as `[agent-a, https://sts.example]`) belongs to agent-a. CONTRACT §4 refuses an agent id as
 * a trusted-issuer audience because "a token addressed to an agent belongs to that agent alone";
 * the exchange must not let another agent take the STS-audience path around that (ST-07,
 * confused deputy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteAgent,
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
} from '../../helpers/fixtures.js';
import {
  createExternalIssuer,
  exchange,
  exchangeRequest,
  refusalChecker,
  type ExternalIssuer,
  type TestAgent,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
const API = `https://api-${suffix}.example/v1`;
const STS_AUDIENCE = `https://sts-${suffix}.example`;
const IR_AUDIENCE = { status: 400, error: 'invalid_request', rule: 'subject_token_wrong_audience' } as const;

let server: TestServer;
let idp: ExternalIssuer;
let owner: TestAgent;
let intruder: TestAgent;
let expectRefusal: ReturnType<typeof refusalChecker>;

function userToken(aud: string | string[]) {
  return idp.sign({ sub: 'alice', aud, scope: 'api.read' });
}

beforeAll(async () => {
  server = await startTestServer();
  idp = await createExternalIssuer(`https://idp-${suffix}.example`);
  await registerTrustedIssuer(server, { issuer: idp.issuer, jwks: idp.jwks, audiences: [STS_AUDIENCE] });
  await registerResource(server, { id: API, scopes: ['api.read'] });
  owner = await registerAgent(server, {
    id: `owner-${suffix}`,
    allowedScopes: ['api.read'],
    allowedAudiences: [API],
  });
  intruder = await registerAgent(server, {
    id: `intruder-${suffix}`,
    allowedScopes: ['api.read'],
    allowedAudiences: [API],
  });
  expectRefusal = refusalChecker(server, async () =>
    exchangeRequest(server, intruder, { subject_token: await userToken(STS_AUDIENCE), audience: API }),
  );
});

afterAll(async () => {
  await server.close();
});

describe('a trusted token addressed to an agent and to agent-sts', () => {
  it('is refused to another agent', async () => {
    const token = await userToken([owner.id, STS_AUDIENCE]);
    await expectRefusal(
      () => exchangeRequest(server, intruder, { subject_token: token, audience: API }),
      IR_AUDIENCE,
    );
  });

  it('is refused to another agent whatever the order of aud', async () => {
    const token = await userToken([STS_AUDIENCE, 'https://elsewhere.example', owner.id]);
    await expectRefusal(
      () => exchangeRequest(server, intruder, { subject_token: token, audience: API }),
      IR_AUDIENCE,
    );
  });

  it('is still exchanged by the agent it names', async () => {
    const { claims } = await exchange(server, owner, {
      subject_token: await userToken([owner.id, STS_AUDIENCE]),
      audience: API,
    });
    expect(claims).toMatchObject({ sub: 'alice', client_id: owner.id, aud: API });
  });

  it('keeps the STS audience usable by any agent when no agent is named beside it', async () => {
    await exchange(server, intruder, {
      subject_token: await userToken([STS_AUDIENCE, 'https://elsewhere.example']),
      audience: API,
    });
  });

  it('stays refused once the named agent is deleted (its id is never free again)', async () => {
    const gone = await registerAgent(server, {
      id: `gone-${suffix}`,
      allowedScopes: ['api.read'],
      allowedAudiences: [API],
    });
    await deleteAgent(server, gone.id);
    const token = await userToken([gone.id, STS_AUDIENCE]);
    await expectRefusal(
      () => exchangeRequest(server, intruder, { subject_token: token, audience: API }),
      IR_AUDIENCE,
    );
  });
});
