/**
 * Where a JWKS may be fetched from, judged by the URL's text (SECURITY-CASES AD-06): `https` only;
 * plain `http` solely for loopback hosts and only when ALLOW_LOOPBACK_HTTP_JWKS is on (development).
 * The addresses a host name resolves to are checked when it is fetched (jwks-fetch.ts).
 */
import { classifyAddress } from './address-class.js';

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
    (url.hostname === 'localhost' || classifyAddress(url.hostname) === 'loopback')
  );
}
