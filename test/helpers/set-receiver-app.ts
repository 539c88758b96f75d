/**
 * A resource server as a separate process, built on the SDK alone: it receives agent-sts
 * revocation SETs (pushed to POST /security-events, or polled when POLL_SECRET is set) and serves
 * GET /api, which verifies the caller's token with `verifyAgentToken(token, { revocations })`.
 * GET /received lists the revocations it accepted. Prints `{"listening": port}` once it listens.
 *
 * Environment: ISSUER, SET_AUDIENCE (its SET aud), API_AUDIENCE (the resource id), PORT,
 * AUTHORIZATION (the header pushes must carry), POLL_SECRET and POLL_INTERVAL_MS (poll mode).
 */
import { createServer } from 'node:http';
import {
  createAgentStsKeySet,
  createRevocationPoller,
  createRevocationReceiver,
  isAgentTokenError,
  verifyAgentToken,
  type ReceivedRevocation,
} from '../../src/sdk/resource-server/index.js';

const env = process.env;
const issuer = env.ISSUER!;
// A short cooldown: a test rotates no keys, but must not wait 30 s for a refetch either.
const keys = createAgentStsKeySet({ issuer, cooldownDuration: 1_000 });
const received: ReceivedRevocation[] = [];
const receiver = createRevocationReceiver({
  issuer,
  audience: env.SET_AUDIENCE!,
  keys,
  ...(env.AUTHORIZATION ? { authorization: env.AUTHORIZATION } : {}),
  onRevocation: (revocation) => received.push(revocation),
});
const poller = env.POLL_SECRET
  ? createRevocationPoller({
      issuer,
      receiver,
      secret: env.POLL_SECRET,
      intervalMs: Number(env.POLL_INTERVAL_MS ?? 5_000),
      onError: (error) => process.stderr.write(`poll failed: ${String(error)}\n`),
    })
  : null;

const server = createServer((request, response) => {
  const path = (request.url ?? '/').split('?')[0];
  const json = (status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  if (path === '/security-events') return receiver.handler(request, response);
  if (path === '/received') return json(200, received);
  if (path === '/api') {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
    verifyAgentToken(token, {
      issuer,
      audience: env.API_AUDIENCE!,
      keys,
      revocations: receiver.revocations,
    }).then(
      (verified) => json(200, { subject: verified.subject, jti: verified.jti }),
      (error: unknown) =>
        isAgentTokenError(error)
          ? json(error.status, { code: error.code, error: error.error })
          : json(500, { error: String(error) }),
    );
    return;
  }
  json(404, {});
});

server.listen(Number(env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  poller?.start();
  process.stdout.write(`${JSON.stringify({ listening: typeof address === 'object' ? address?.port : 0 })}\n`);
});
process.on('SIGTERM', () => {
  void poller?.stop();
  server.close(() => process.exit(0));
});
