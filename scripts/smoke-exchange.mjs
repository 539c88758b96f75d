// One chain end to end against a running agent-sts: register a resource and two agents through
// the admin API, get agent-a's own token for agent-b, exchange it as agent-b for the resource,
// and verify the result as a resource server would, with nothing but the JWKS.
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [base, adminToken] = process.argv.slice(2);
const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const RESOURCE = 'https://calendar.example/api';

async function call(path, init, expected) {
  const response = await fetch(base + path, init);
  const body = await response.json();
  if (response.status !== expected) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

await call(
  '/admin/resources',
  {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ id: RESOURCE, name: 'Calendar', scopes: ['calendar.read'] }),
  },
  201,
);
const agentA = await call(
  '/admin/agents',
  {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({
      id: 'agent-a',
      name: 'Agent A',
      tokenEndpointAuthMethod: 'client_secret_post',
      allowedScopes: ['calendar.read'],
      allowedAudiences: ['agent-b'],
    }),
  },
  201,
);
const agentB = await call(
  '/admin/agents',
  {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({
      id: 'agent-b',
      name: 'Agent B',
      tokenEndpointAuthMethod: 'client_secret_post',
      allowedScopes: ['calendar.read'],
      allowedAudiences: [RESOURCE],
    }),
  },
  201,
);

const form = (fields) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields),
});
const own = await call(
  '/token',
  form({
    grant_type: 'client_credentials',
    client_id: 'agent-a',
    client_secret: agentA.clientSecret,
    audience: 'agent-b',
    scope: 'calendar.read',
  }),
  200,
);
const hop = await call(
  '/token',
  form({
    grant_type: EXCHANGE,
    client_id: 'agent-b',
    client_secret: agentB.clientSecret,
    subject_token: own.access_token,
    subject_token_type: ACCESS_TOKEN,
    resource: RESOURCE,
  }),
  200,
);

const { payload, protectedHeader } = await jwtVerify(
  hop.access_token,
  createRemoteJWKSet(new URL(`${base}/jwks`)),
  {
    issuer: base,
    audience: RESOURCE,
    typ: 'at+jwt',
  },
);
if (payload.sub !== 'agent-a' || payload.act?.sub !== 'agent-b' || payload.scope !== 'calendar.read') {
  throw new Error(`unexpected claims: ${JSON.stringify(payload)}`);
}
console.log(
  'verified',
  protectedHeader.alg,
  JSON.stringify({ sub: payload.sub, aud: payload.aud, act: payload.act, scope: payload.scope }),
);
