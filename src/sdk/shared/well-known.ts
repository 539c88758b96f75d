/**
 * Well-known metadata locations: RFC 8414 §3.1 (authorization server) and RFC 9728 §3.1
 * (protected resource) both insert `/.well-known/<name>` between the host and the path of the
 * identifier, so an identifier with a path has its own document.
 */
export function wellKnownUrl(identifier: string | URL, name: string): URL {
  const url = new URL(identifier);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return new URL(`/.well-known/${name}${path}`, url.origin);
}
