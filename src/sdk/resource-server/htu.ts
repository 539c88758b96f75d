/**
 * RFC 9449 §4.3 check 9: `htu` matches the request URI, ignoring query and fragment, after the
 * syntax- and scheme-based normalisation of RFC 3986 §6.2.2 and §6.2.3 (case of scheme and host,
 * default port, dot segments, percent-encoding case and unreserved characters).
 */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

function normalisePercentEncoding(path: string): string {
  return path.replace(/%[0-9A-Fa-f]{2}/g, (escape) => {
    const character = String.fromCharCode(parseInt(escape.slice(1), 16));
    return UNRESERVED.test(character) ? character : escape.toUpperCase();
  });
}

/** The comparable form of an `htu` or a request URL; undefined when it is not an absolute http(s) URL. */
export function normaliseHtu(value: string | URL): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username || url.password) return undefined;
  return `${url.protocol}//${url.host}${normalisePercentEncoding(url.pathname)}`;
}

export function htuMatches(htu: unknown, requestUrl: string | URL): boolean {
  if (typeof htu !== 'string') return false;
  const expected = normaliseHtu(requestUrl);
  return expected !== undefined && normaliseHtu(htu) === expected;
}
