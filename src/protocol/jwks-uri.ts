/**
 * Where a JWKS may be fetched from (SECURITY-CASES AD-06): `https` only; plain `http` solely for
 * loopback hosts and only when ALLOW_LOOPBACK_HTTP_JWKS is on (development).
 */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isAllowedJwksUri(raw: string, allowLoopbackHttp: boolean): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.username || url.password || url.hash) return false;
  if (url.protocol === 'https:') return true;
  return (
    url.protocol === 'http:' &&
    allowLoopbackHttp &&
    (LOOPBACK_HOSTS.has(url.hostname) || url.hostname.startsWith('127.'))
  );
}
