/**
 * The admin API client (CONTRACT §4). The bearer token lives in sessionStorage: it is gone when
 * the tab closes, is never sent by the browser on its own (no cookie, so no CSRF), and is never
 * written anywhere else.
 */

const TOKEN_KEY = 'agent-sts.console.token';

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** A failed call: the RFC 9457 problem document's status, title, detail and field errors. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem.title || `HTTP ${status}`;
    this.detail = problem.detail || '';
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
  }
}

/** Called with the error when the API answers 401: the session is over. */
let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/** One admin API call; resolves to the parsed JSON (null for 204) or throws an ApiError. */
export async function api(method, path, body, token = storedToken()) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, { title: 'Network error', detail: 'the service could not be reached' });
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { title: `HTTP ${response.status}`, detail: 'the answer was not JSON' };
  }
  if (!response.ok) {
    const error = new ApiError(response.status, parsed ?? {});
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  return parsed;
}

/** `path` with a query string of the given, non-empty parameters. */
export function withQuery(path, parameters) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined && value !== null && value !== '') query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** A path segment for an id (agent ids and resource URIs hold '/' and ':'). */
export const segment = (id) => encodeURIComponent(id);
