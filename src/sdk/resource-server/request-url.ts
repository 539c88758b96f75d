/**
 * The absolute URL a client addressed, which a DPoP proof's `htu` must match. Behind a proxy the
 * server sees another scheme, host or path prefix: state the external address with `publicUrl`
 * (for example `https://api.example.com/v1` when the proxy strips `/v1`), or trust the proxy's
 * `X-Forwarded-Proto` / `X-Forwarded-Host`.
 */
export interface RequestUrlParts {
  /** `http` or `https`, as seen by this server (or its trusted proxy). */
  readonly protocol: string;
  /** The Host header (with the port). */
  readonly host: string | undefined;
  /** The request target: path and query. */
  readonly path: string;
}

export function requestUrl(parts: RequestUrlParts, publicUrl?: string | URL): string {
  const path = parts.path.split(/[?#]/, 1)[0] || '/';
  if (publicUrl !== undefined) {
    const base = new URL(publicUrl);
    return `${base.origin}${base.pathname.replace(/\/$/, '')}${path}`;
  }
  return `${parts.protocol.replace(/:$/, '')}://${parts.host ?? 'localhost'}${path}`;
}

/** The first value of a `X-Forwarded-*` header: the address the client used at the outermost proxy. */
export function firstForwarded(value: string | readonly string[] | undefined): string | undefined {
  const first = typeof value === 'string' ? value : value?.[0];
  return first?.split(',', 1)[0]?.trim() || undefined;
}
