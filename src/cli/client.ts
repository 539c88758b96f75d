/**
 * The CLI's only way to the service: the admin API over HTTP (fetch), as any client of its
 * contract would call it. Errors become ApiError (an answer) or NetworkError (no answer).
 */
import { ApiError, MissingCredentialsError, NetworkError, type Problem } from './errors.js';

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface AdminClient {
  readonly baseUrl: string;
  get<T>(path: string, query?: Query): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
  delete(path: string): Promise<void>;
  /** A public, unauthenticated document of the service (discovery). */
  getPublic<T>(path: string): Promise<T>;
}

export interface ClientOptions {
  readonly baseUrl: string;
  /** Read only when a request needs it, so commands that call nothing never ask for a token. */
  readonly token: () => string;
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** `/admin/agents/{id}` with the id escaped: resource ids are URIs. */
export function apiPath(...segments: readonly string[]): string {
  return segments.map((segment, index) => (index === 0 ? segment : encodeURIComponent(segment))).join('/');
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return 'timed out';
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

function parse(text: string, contentType: string | null): unknown {
  if (!text || !/json/i.test(contentType ?? '')) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

export function createClient(options: ClientOptions): AdminClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  async function send(method: string, path: string, init: { query?: Query; body?: unknown; auth: boolean }) {
    const url = new URL(base + path);
    for (const [name, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init.auth) {
      const token = options.token();
      if (!token) throw new MissingCredentialsError('no admin token');
      headers.authorization = `Bearer ${token}`;
    }
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new NetworkError(`cannot reach ${base}: ${causeOf(error)}`);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw new NetworkError(`${base} closed the connection: ${causeOf(error)}`);
    }
    const body = parse(text, response.headers.get('content-type'));
    if (!response.ok) {
      const problem = body !== null && typeof body === 'object' ? (body as Problem) : null;
      throw new ApiError(response.status, problem, text);
    }
    return body;
  }

  return {
    baseUrl: base,
    get: async <T>(path: string, query?: Query) =>
      (await send('GET', path, { auth: true, ...(query ? { query } : {}) })) as T,
    post: async <T>(path: string, body?: unknown) => (await send('POST', path, { auth: true, body })) as T,
    patch: async <T>(path: string, body: unknown) => (await send('PATCH', path, { auth: true, body })) as T,
    delete: async (path: string) => {
      await send('DELETE', path, { auth: true });
    },
    getPublic: async <T>(path: string) => (await send('GET', path, { auth: false })) as T,
  };
}
