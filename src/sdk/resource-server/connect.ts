/**
 * The Express / Connect adapter: `(req, res, next)` middleware that verifies the token, puts the
 * result on `req.agentToken` and calls `next()`, or answers the refusal itself. It needs nothing of
 * Express: the request and response are Node's, read structurally.
 *
 * The DPoP `htu` is checked against `publicUrl` when given; else the scheme comes from the socket
 * (TLS or not) and the host from `Host`, or from `X-Forwarded-Proto` / `X-Forwarded-Host` when
 * `trustProxy` is set (only behind a proxy that overwrites them). The path is Express'
 * `originalUrl` when present, so mounted routers check the full path.
 */
import { createRequestAuthenticator, type AgentStsAuthOptions } from './authenticate-request.js';
import type { HeaderValue } from './read-credentials.js';
import { firstForwarded, requestUrl } from './request-url.js';
import type { AgentToken } from './verify-agent-token.js';

export interface ConnectRequest {
  method?: string | undefined;
  url?: string | undefined;
  originalUrl?: string;
  headers: Record<string, HeaderValue>;
  socket: { encrypted?: boolean } | object;
  agentToken?: AgentToken;
}

export interface ConnectResponse {
  statusCode: number;
  setHeader(name: string, value: string | readonly string[]): unknown;
  end(body?: string): unknown;
}

export interface AgentStsConnectOptions extends AgentStsAuthOptions {
  /** Believe `X-Forwarded-Proto` and `X-Forwarded-Host`. Default false. */
  readonly trustProxy?: boolean;
}

export function agentStsMiddleware(options: AgentStsConnectOptions) {
  const authenticate = createRequestAuthenticator(options);
  return function agentStsAuth(
    request: ConnectRequest,
    response: ConnectResponse,
    next: (error?: unknown) => void,
  ): void {
    const forwarded = options.trustProxy === true;
    const encrypted = 'encrypted' in request.socket && request.socket.encrypted === true;
    const protocol =
      (forwarded && firstForwarded(request.headers['x-forwarded-proto'])) || (encrypted ? 'https' : 'http');
    const host =
      (forwarded && firstForwarded(request.headers['x-forwarded-host'])) ||
      firstForwarded(request.headers.host);
    const path = request.originalUrl ?? request.url ?? '/';
    const url = requestUrl({ protocol, host, path }, options.publicUrl);
    authenticate({ method: request.method ?? 'GET', url, headers: request.headers }).then((result) => {
      if (result.ok) {
        request.agentToken = result.token;
        next();
        return;
      }
      response.statusCode = result.refusal.status;
      for (const [name, value] of Object.entries(result.refusal.headers)) response.setHeader(name, value);
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(result.refusal.body));
    }, next);
  };
}
