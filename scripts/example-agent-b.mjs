#!/usr/bin/env node
// The README's agent: agent-b receives a token (HOP1 of the walk-through) and calls the next hop.
//   STS=http://127.0.0.1:3000 B_SECRET=... node scripts/example-agent-b.mjs "$HOP1"   (needs `npm run build`)
import { AgentStsClient } from 'agent-sts/agent';

const sts = new AgentStsClient({
  issuer: process.env.STS ?? 'http://127.0.0.1:3000',
  clientId: 'agent-b',
  authentication: { method: 'client_secret_basic', clientSecret: process.env.B_SECRET },
});

async function listEvents(receivedToken) {
  // One exchange per (subject token, target, scope), cached until shortly before it expires.
  const token = await sts.exchange({
    subjectToken: receivedToken,
    resource: 'https://calendar.example/api',
    scope: 'calendar.read',
  });
  const url = process.env.CALENDAR_URL ?? 'http://127.0.0.1:4000/events';
  const response = await fetch(url, {
    headers: await sts.authorizationHeaders(token, { method: 'GET', url }),
  });
  return response.json();
}

console.log(await listEvents(process.argv[2]));
