/**
 * Chain, audience and scope policy of token exchange (CONTRACT §3.2; SECURITY-CASES C and D):
 * actor tokens and splicing, may_act, injected claims, cycles and depth, targets, scope
 * attenuation at every hop, requested token types and repeated parameters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deleteAgent,
  disableAgent,
  registerAgent,
  registerResource,
  registerTrustedIssuer,
  uniqueSuffix,
} from '../../helpers/fixtures.js';
import {
  agentToken,
  createExternalIssuer,
  encodeForm,
  exchange,
  exchangeRequest,
  GRANT_TOKEN_EXCHANGE,
  credentials,
  postToken,
  refusalChecker,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_ID_TOKEN,
  TOKEN_TYPE_REFRESH_TOKEN,
  type ExternalIssuer,
  type TestAgent,
} from '../../helpers/oauth.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const suffix = uniqueSuffix();
const DOCS = `https://docs-${suffix}.example/api`;
const MAIL = `https://mail-${suffix}.example/api`;
const UNREGISTERED = `https://unregistered-${suffix}.example/api`;
const STS_AUDIENCE = `https://sts-${suffix}.example`;
const id = (name: string) => `${name}-${suffix}`;

let server: TestServer;
let idp: ExternalIssuer;
let planner: TestAgent;
let writer: TestAgent;
let reviewer: TestAgent;
let shallow: TestAgent;
let outsider: TestAgent;
/** alice → planner, scopes docs.read docs.write mail.read. */
let aliceToken: string;
let expectRefusal: ReturnType<typeof refusalChecker>;

const IR = (rule: string) => ({ status: 400, error: 'invalid_request', rule });
const IT = (rule: string) => ({ status: 400, error: 'invalid_target', rule });
const IS = (rule: string) => ({ status: 400, error: 'invalid_scope', rule });

beforeAll(async () => {
  server = await startTestServer();
  idp = await createExternalIssuer(`https://idp-${suffix}.example`);
  await registerTrustedIssuer(server, { issuer: idp.issuer, jwks: idp.jwks, audiences: [STS_AUDIENCE] });
  await registerResource(server, { id: DOCS, scopes: ['docs.read', 'docs.write'] });
  await registerResource(server, { id: MAIL, scopes: ['mail.read'] });
  planner = await registerAgent(server, {
    id: id('planner'),
    allowedScopes: ['docs.read', 'docs.write', 'mail.read'],
    allowedAudiences: [id('writer'), id('outsider'), DOCS, MAIL, UNREGISTERED],
  });
  writer = await registerAgent(server, {
    id: id('writer'),
    tokenEndpointAuthMethod: 'client_secret_post',
    allowedScopes: ['docs.read', 'docs.write', 'mail.read'],
    allowedAudiences: [id('reviewer'), id('planner'), DOCS, MAIL],
  });
  reviewer = await registerAgent(server, {
    id: id('reviewer'),
    allowedScopes: ['docs.read', 'docs.write'],
    allowedAudiences: [id('shallow'), id('writer'), id('planner'), DOCS],
  });
  shallow = await registerAgent(server, {
    id: id('shallow'),
    allowedScopes: ['docs.read'],
    allowedAudiences: [DOCS],
    maxDelegationDepth: 3,
  });
  outsider = await registerAgent(server, {
    id: id('outsider'),
    allowedScopes: ['docs.read'],
    allowedAudiences: [DOCS],
  });
  aliceToken = await idp.sign({ sub: 'alice', aud: planner.id, scope: 'docs.read docs.write mail.read' });
  expectRefusal = refusalChecker(server, () =>
    exchangeRequest(server, planner, { subject_token: aliceToken, audience: DOCS }),
  );
});

afterAll(async () => {
  await server?.close();
});

describe('actor tokens and splicing (DC-01, DC-02)', () => {
  it("accepts the agent's own token as actor_token", async () => {
    const own = await agentToken(server, planner, { audience: DOCS });
    const { claims } = await exchange(server, planner, {
      subject_token: aliceToken,
      actor_token: own.token,
      actor_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      audience: DOCS,
    });
    expect(claims.act).toEqual({ sub: planner.id });
  });

  it("DC-01 refuses another agent's actor token", async () => {
    const writersOwn = await agentToken(server, writer, { audience: DOCS });
    await expectRefusal(
      () =>
        exchangeRequest(server, planner, {
          subject_token: aliceToken,
          actor_token: writersOwn.token,
          actor_token_type: TOKEN_TYPE_ACCESS_TOKEN,
          audience: DOCS,
        }),
      IR('actor_token_subject_mismatch'),
    );
  });

  it("DC-02 refuses a user token for agent X spliced with agent N's actor token, authenticated as N", async () => {
    const writersOwn = await agentToken(server, writer, { audience: DOCS });
    await expectRefusal(
      () =>
        exchangeRequest(server, writer, {
          subject_token: aliceToken,
          actor_token: writersOwn.token,
          actor_token_type: TOKEN_TYPE_ACCESS_TOKEN,
          audience: DOCS,
        }),
      IR('subject_token_wrong_audience'),
    );
  });

  it('DC-02 refuses subject and actor swapped', async () => {
    const plannersOwn = await agentToken(server, planner, { audience: DOCS });
    await expectRefusal(
      () =>
        exchangeRequest(server, planner, {
          subject_token: plannersOwn.token,
          actor_token: aliceToken,
          actor_token_type: TOKEN_TYPE_ACCESS_TOKEN,
          audience: DOCS,
        }),
      IR('subject_token_wrong_audience'),
    );
  });
});

describe('may_act (DC-03)', () => {
  it('refuses an actor that may_act does not name, and accepts the one it names', async () => {
    const forWriter = await idp.sign({
      sub: 'alice',
      aud: planner.id,
      scope: 'docs.read',
      may_act: { sub: writer.id },
    });
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: forWriter, audience: DOCS }),
      IR('may_act_mismatch'),
    );
    const forPlanner = await idp.sign({
      sub: 'alice',
      aud: planner.id,
      scope: 'docs.read',
      may_act: { sub: planner.id },
    });
    await exchange(server, planner, { subject_token: forPlanner, audience: DOCS });
  });

  it('refuses a malformed may_act', async () => {
    const malformed = await idp.sign({
      sub: 'alice',
      aud: planner.id,
      scope: 'docs.read',
      may_act: 'everyone',
    });
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: malformed, audience: DOCS }),
      IR('subject_token_invalid'),
    );
  });
});

describe('injected claims (DC-04)', () => {
  it('ignores act, may_act, sub, tenant and the like sent as form fields', async () => {
    const { claims } = await exchange(server, writer, {
      subject_token: (await exchange(server, planner, { subject_token: aliceToken, audience: writer.id }))
        .token,
      audience: DOCS,
      act: JSON.stringify({ sub: 'mallory' }),
      may_act: JSON.stringify({ sub: writer.id }),
      sub: 'mallory',
      tenant: 'other-tenant',
      txn: 'attacker-txn',
      client_id: writer.id,
    });
    expect(claims).toMatchObject({
      sub: 'alice',
      client_id: writer.id,
      act: { sub: writer.id, act: { sub: planner.id } },
    });
    expect(claims.txn).not.toBe('attacker-txn');
    expect(claims).not.toHaveProperty('tenant');
    expect(claims).not.toHaveProperty('may_act');
  });

  it('refuses a body client_id that names another agent than the one authenticated', async () => {
    const { headers, fields } = await credentials(server, planner);
    await expectRefusal(
      () =>
        postToken(
          server,
          {
            ...fields,
            grant_type: GRANT_TOKEN_EXCHANGE,
            subject_token: aliceToken,
            subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
            audience: DOCS,
            client_id: writer.id,
          },
          headers,
        ),
      IR('invalid_parameters'),
    );
  });
});

describe('cycles and depth (DC-06)', () => {
  it('refuses a cycle A → B → A', async () => {
    const hop1 = await exchange(server, planner, { subject_token: aliceToken, audience: writer.id });
    const hop2 = await exchange(server, writer, { subject_token: hop1.token, audience: planner.id });
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: hop2.token, audience: DOCS }),
      IR('delegation_cycle'),
    );
  });

  it('refuses a cycle back to the agent whose own token started the chain', async () => {
    const own = await agentToken(server, writer, { audience: reviewer.id });
    const hop = await exchange(server, reviewer, { subject_token: own.token, audience: writer.id });
    await expectRefusal(
      () => exchangeRequest(server, writer, { subject_token: hop.token, audience: DOCS }),
      IR('delegation_cycle'),
    );
  });

  it("refuses a chain one deeper than an agent's maxDelegationDepth", async () => {
    // alice → planner → writer → reviewer → shallow would be depth 4; shallow allows 3.
    const hop1 = await exchange(server, planner, { subject_token: aliceToken, audience: writer.id });
    const hop2 = await exchange(server, writer, { subject_token: hop1.token, audience: reviewer.id });
    const hop3 = await exchange(server, reviewer, { subject_token: hop2.token, audience: shallow.id });
    expect(hop3.claims.act).toEqual({
      sub: reviewer.id,
      act: { sub: writer.id, act: { sub: planner.id } },
    });
    await expectRefusal(
      () => exchangeRequest(server, shallow, { subject_token: hop3.token, audience: DOCS }),
      IR('delegation_too_deep'),
    );
    // At depth 3 it is allowed: shallow acting on a two-actor chain.
    const short = await exchange(server, planner, { subject_token: aliceToken, audience: writer.id });
    const shortHop = await exchange(server, writer, { subject_token: short.token, audience: reviewer.id });
    const ok = await exchange(server, reviewer, { subject_token: shortHop.token, audience: shallow.id });
    expect(ok.claims.act).toBeDefined();
  });

  it("refuses when an earlier agent's limit is lower than the actor's", async () => {
    // shallow (limit 3) earlier in the chain binds every later hop.
    const strict = await registerAgent(server, {
      id: id('strict'),
      allowedScopes: ['docs.read'],
      allowedAudiences: [id('relay')],
      maxDelegationDepth: 1,
    });
    const relay = await registerAgent(server, {
      id: id('relay'),
      allowedScopes: ['docs.read'],
      allowedAudiences: [DOCS],
    });
    const user = await idp.sign({ sub: 'bob', aud: strict.id, scope: 'docs.read' });
    const hop1 = await exchange(server, strict, { subject_token: user, audience: relay.id });
    await expectRefusal(
      () => exchangeRequest(server, relay, { subject_token: hop1.token, audience: DOCS }),
      IR('delegation_too_deep'),
    );
  });

  // Lineage carries the issuer's limit (issued_tokens.depth_limit), so it binds every hop.
  it("refuses a chain deeper than the trusted issuer's maxDelegationDepth, at every hop", async () => {
    const strictIdp = await createExternalIssuer(`https://strict-idp-${suffix}.example`);
    await registerTrustedIssuer(server, {
      issuer: strictIdp.issuer,
      jwks: strictIdp.jwks,
      audiences: [`https://sts-strict-${suffix}.example`],
      maxDelegationDepth: 1,
    });
    const user = await strictIdp.sign({ sub: 'carol', aud: planner.id, scope: 'docs.read' });
    const hop1 = await exchange(server, planner, { subject_token: user, audience: writer.id });
    await expectRefusal(
      () => exchangeRequest(server, writer, { subject_token: hop1.token, audience: DOCS }),
      IR('delegation_too_deep'),
    );
  });

  it('refuses an external token with deeply nested act, without crashing', async () => {
    for (const levels of [70, 600]) {
      let act: Record<string, unknown> = { sub: 'x' };
      for (let level = 0; level < levels; level += 1) act = { sub: `x${level}`, act };
      const deep = await idp.sign({ sub: 'alice', aud: planner.id, scope: 'docs.read', act });
      await expectRefusal(
        () => exchangeRequest(server, planner, { subject_token: deep, audience: DOCS }),
        IR('subject_token_invalid'),
      );
    }
    // 10,000 levels cannot even reach the verifier: the request body is over the limit (RL-01).
    let huge = '{"sub":"x"}';
    for (let level = 0; level < 10_000; level += 1) huge = `{"sub":"x","act":${huge}}`;
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: idp.kid })).toString(
      'base64url',
    );
    const payload = Buffer.from(
      `{"iss":"${idp.issuer}","sub":"alice","aud":"${planner.id}","exp":${Math.floor(Date.now() / 1000) + 300},"act":${huge}}`,
    ).toString('base64url');
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: `${header}.${payload}.c2ln`, audience: DOCS }),
      { status: 413, error: 'invalid_request', rule: 'invalid_parameters' },
    );
  });

  it('refuses an external act chain that repeats an agent', async () => {
    const repeated = await idp.sign({
      sub: 'alice',
      aud: reviewer.id,
      scope: 'docs.read',
      act: { sub: writer.id, act: { sub: planner.id, act: { sub: writer.id } } },
    });
    await expectRefusal(
      () => exchangeRequest(server, reviewer, { subject_token: repeated, audience: DOCS }),
      IR('delegation_cycle'),
    );
  });

  it('refuses an external act chain naming an agent that does not exist', async () => {
    const ghost = await idp.sign({
      sub: 'alice',
      aud: planner.id,
      scope: 'docs.read',
      act: { sub: 'ghost-agent' },
    });
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: ghost, audience: DOCS }),
      IR('chain_agent_inactive'),
    );
  });
});

describe('targets (SA-01)', () => {
  it('refuses an agent audience outside the allowlist', async () => {
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: aliceToken, audience: reviewer.id }),
      IT('target_not_allowed'),
    );
  });

  it('refuses a registered resource outside the allowlist', async () => {
    const hop = await exchange(server, planner, { subject_token: aliceToken, audience: outsider.id });
    await expectRefusal(
      () => exchangeRequest(server, outsider, { subject_token: hop.token, audience: MAIL }),
      IT('target_not_allowed'),
    );
  });

  it('refuses an unregistered resource even when allowlisted', async () => {
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: aliceToken, resource: UNREGISTERED }),
      IT('target_not_registered'),
    );
  });

  it('refuses two targets, all or nothing', async () => {
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: aliceToken, audience: [DOCS, reviewer.id] }),
      IT('target_not_allowed'),
    );
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: aliceToken, audience: DOCS, resource: MAIL }),
      IT('target_not_allowed'),
    );
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: aliceToken, audience: [DOCS, MAIL] }),
      IT('target_not_allowed'),
    );
  });

  it('accepts the same target repeated, and the target as audience and resource at once', async () => {
    await exchange(server, planner, { subject_token: aliceToken, audience: [DOCS, DOCS] });
    await exchange(server, planner, { subject_token: aliceToken, audience: DOCS, resource: DOCS });
  });

  it('refuses a missing target when several are allowed', async () => {
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: aliceToken }),
      IT('target_missing'),
    );
  });

  it('refuses a resource that is not an absolute URI', async () => {
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: aliceToken, resource: 'docs' }),
      IT('target_not_registered'),
    );
  });

  it('refuses a disabled or deleted agent as the target', async () => {
    const target = await registerAgent(server, { id: id('target'), allowedScopes: ['docs.read'] });
    const sender = await registerAgent(server, {
      id: id('sender'),
      allowedScopes: ['docs.read'],
      allowedAudiences: [target.id, id('gone')],
    });
    const user = await idp.sign({ sub: 'alice', aud: sender.id, scope: 'docs.read' });
    await exchange(server, sender, { subject_token: user, audience: target.id });
    await disableAgent(server, target.id);
    await expectRefusal(
      () => exchangeRequest(server, sender, { subject_token: user, audience: target.id }),
      IT('target_not_registered'),
    );
    await deleteAgent(server, target.id);
    await expectRefusal(
      () => exchangeRequest(server, sender, { subject_token: user, audience: target.id }),
      IT('target_not_registered'),
    );
    // Allowlisted but never registered.
    await expectRefusal(
      () => exchangeRequest(server, sender, { subject_token: user, audience: id('gone') }),
      IT('target_not_registered'),
    );
  });
});

describe('scopes (SA-03, SA-04)', () => {
  it('SA-03 refuses a scope outside the subject token at the first hop', async () => {
    const narrow = await idp.sign({ sub: 'alice', aud: planner.id, scope: 'docs.read' });
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: narrow, audience: DOCS, scope: 'docs.write' }),
      IS('scope_escalation'),
    );
  });

  it('SA-03 refuses scope escalation at the second hop', async () => {
    const hop1 = await exchange(server, planner, {
      subject_token: aliceToken,
      audience: writer.id,
      scope: 'docs.read',
    });
    await expectRefusal(
      () =>
        exchangeRequest(server, writer, { subject_token: hop1.token, audience: DOCS, scope: 'docs.write' }),
      IS('scope_escalation'),
    );
    await expectRefusal(
      () =>
        exchangeRequest(server, writer, {
          subject_token: hop1.token,
          audience: DOCS,
          scope: 'docs.read docs.write',
        }),
      IS('scope_escalation'),
    );
    const ok = await exchange(server, writer, {
      subject_token: hop1.token,
      audience: DOCS,
      scope: 'docs.read',
    });
    expect(ok.claims.scope).toBe('docs.read');
  });

  it("SA-03 refuses a scope outside the actor's allowlist or the audience's scopes", async () => {
    const hop1 = await exchange(server, planner, { subject_token: aliceToken, audience: outsider.id });
    expect(hop1.claims.scope).toBe('docs.read');
    await expectRefusal(
      () =>
        exchangeRequest(server, planner, { subject_token: aliceToken, audience: DOCS, scope: 'mail.read' }),
      IS('scope_escalation'),
    );
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: aliceToken, audience: DOCS, scope: 'admin' }),
      IS('scope_escalation'),
    );
  });

  it('SA-04 grants subject ∩ actor ∩ audience when scope is omitted', async () => {
    const toDocs = await exchange(server, planner, { subject_token: aliceToken, audience: DOCS });
    expect(toDocs.claims.scope).toBe('docs.read docs.write');
    const toMail = await exchange(server, planner, { subject_token: aliceToken, audience: MAIL });
    expect(toMail.claims.scope).toBe('mail.read');
    // The writer agent as audience accepts its own allowlist; reviewer narrows to docs.* only.
    const toWriter = await exchange(server, planner, { subject_token: aliceToken, audience: writer.id });
    expect(toWriter.claims.scope).toBe('docs.read docs.write mail.read');
    const toReviewer = await exchange(server, writer, {
      subject_token: toWriter.token,
      audience: reviewer.id,
    });
    expect(toReviewer.claims.scope).toBe('docs.read docs.write');
  });

  it('SA-04 refuses when nothing remains, never empty-means-all', async () => {
    const mailOnly = await idp.sign({ sub: 'alice', aud: planner.id, scope: 'mail.read' });
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: mailOnly, audience: DOCS }),
      IS('scope_empty'),
    );
    const none = await idp.sign({ sub: 'alice', aud: planner.id });
    await expectRefusal(
      () => exchangeRequest(server, planner, { subject_token: none, audience: DOCS }),
      IS('scope_empty'),
    );
  });
});

describe('requested_token_type (SA-05)', () => {
  it.each([
    ['refresh_token', TOKEN_TYPE_REFRESH_TOKEN],
    ['id_token', TOKEN_TYPE_ID_TOKEN],
    ['saml2', 'urn:ietf:params:oauth:token-type:saml2'],
    ['an unknown URN', 'urn:example:magic'],
  ])('refuses %s', async (_name, type) => {
    await expectRefusal(
      () =>
        exchangeRequest(server, planner, {
          subject_token: aliceToken,
          audience: DOCS,
          requested_token_type: type,
        }),
      IR('unsupported_requested_token_type'),
    );
  });
});

describe('repeated parameters (SA-06)', () => {
  it.each(['subject_token', 'scope', 'grant_type', 'subject_token_type', 'requested_token_type'])(
    'refuses two %s parameters',
    async (name) => {
      const values: Record<string, string> = {
        subject_token: aliceToken,
        scope: 'docs.read',
        grant_type: GRANT_TOKEN_EXCHANGE,
        subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
        requested_token_type: TOKEN_TYPE_ACCESS_TOKEN,
      };
      const { headers, fields } = await credentials(server, planner);
      const form = {
        ...fields,
        grant_type: GRANT_TOKEN_EXCHANGE,
        subject_token: aliceToken,
        subject_token_type: TOKEN_TYPE_ACCESS_TOKEN,
        audience: DOCS,
        [name]: [values[name] as string, values[name] as string],
      };
      await expectRefusal(() => postToken(server, encodeForm(form), headers), IR('invalid_parameters'));
    },
  );
});
