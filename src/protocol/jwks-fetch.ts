/**
 * The one way this service fetches a JWKS: trusted issuers', peers' and agents' key sets, through
 * jose (`customFetch`).
 *
 * A JWKS URI is checked as text when it is registered, but a DNS name can resolve to a loopback or
 * metadata address (`localtest.me` → 127.0.0.1), and its answer can change afterwards (rebinding).
 * So every connection is checked here (SECURITY-CASES AD-06): the host is resolved once, every
 * address it resolves to must be fetchable (address-class.ts), and the socket connects to one of
 * those very addresses, so nothing can change between the check and the connect. IP-literal hosts,
 * which are never looked up, are checked the same way. Redirects are refused and the body is
 * capped; a refusal fails the fetch, which fails the verification as an unreachable JWKS does
 * (AV-05).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { classifyAddress, isFetchableClass } from './address-class.js';
import { isAllowedJwksUri } from './jwks-uri.js';

/** Larger than any real JWKS (a dozen RSA keys with certificate chains), small enough to buffer. */
export const JWKS_MAX_BYTES = 128 * 1024;
const CONNECT_TIMEOUT_MS = 3_000;
/** Only when the caller gives no signal: jose sets its own (3 s). */
const FETCH_TIMEOUT_MS = 5_000;

export type JwksFetchRefusalCode =
  'url_not_allowed' | 'address_not_allowed' | 'redirect_refused' | 'response_too_large';

/** A fetch this service will not make or finish; the message names the host, never the path or query. */
export class JwksFetchRefused extends Error {
  readonly code: JwksFetchRefusalCode;
  readonly host: string;

  constructor(code: JwksFetchRefusalCode, host: string, message: string) {
    super(message);
    this.name = 'JwksFetchRefused';
    this.code = code;
    this.host = host;
  }
}

export type JwksFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface JwksFetchOptions {
  /** ALLOW_LOOPBACK_HTTP_JWKS: development only. */
  readonly allowLoopback: boolean;
  /** Told of every refusal, for the log. */
  readonly onRefused?: (refusal: JwksFetchRefused) => void;
}

function refusedAddress(host: string, address: string, allowLoopback: boolean): JwksFetchRefused | null {
  const addressClass = classifyAddress(address);
  if (addressClass !== null && isFetchableClass(addressClass, allowLoopback)) return null;
  const where = host === address ? `JWKS host ${host} is` : `JWKS host ${host} resolves to ${address},`;
  return new JwksFetchRefused('address_not_allowed', host, `${where} a ${addressClass ?? 'unknown'} address`);
}

/**
 * A `lookup` for net/tls connect: resolves every address of the host and refuses them all when any
 * one is not fetchable, else answers with the checked addresses, which are the ones connected to.
 */
function guardedLookup(allowLoopback: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { family: options.family, hints: options.hints, all: true }, (error, found) => {
      const addresses: LookupAddress[] = found ?? [];
      const refusal =
        error ??
        (addresses.length === 0
          ? Object.assign(new Error(`JWKS host ${hostname} has no address`), { code: 'ENOTFOUND' })
          : addresses
              .map(({ address }) => refusedAddress(hostname, address, allowLoopback))
              .find((refused) => refused !== null));
      // Node's callback is overloaded on `all`; either form carries the checked addresses only.
      const answer = callback as (
        error: Error | null,
        address: string | LookupAddress[],
        family?: number,
      ) => void;
      if (refusal) answer(refusal, '');
      else if (options.all) answer(null, addresses);
      else answer(null, (addresses[0] as LookupAddress).address, (addresses[0] as LookupAddress).family);
    });
  };
}

/** An undici Agent that connects only to fetchable addresses. */
export function createGuardedAgent(allowLoopback: boolean): Agent {
  const connector = buildConnector({ lookup: guardedLookup(allowLoopback), timeout: CONNECT_TIMEOUT_MS });
  return new Agent({
    connect: (options, callback) => {
      // An IP-literal host is connected to without a lookup: check it here.
      const refusal = isIP(options.hostname)
        ? refusedAddress(options.hostname, options.hostname, allowLoopback)
        : null;
      if (refusal) callback(refusal, null);
      else connector(options, callback);
    },
    headersTimeout: FETCH_TIMEOUT_MS,
    bodyTimeout: FETCH_TIMEOUT_MS,
  });
}

/** The refusal behind a failed fetch (`TypeError: fetch failed`, cause …), if it was one. */
export function refusalIn(error: unknown): JwksFetchRefused | null {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof JwksFetchRefused) return cause;
  }
  return null;
}

function tooLarge(host: string): JwksFetchRefused {
  return new JwksFetchRefused(
    'response_too_large',
    host,
    `JWKS from ${host} exceeds ${JWKS_MAX_BYTES} bytes`,
  );
}

async function cappedBody(body: AsyncIterable<Uint8Array> | null, host: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let received = 0;
  for await (const chunk of body ?? []) {
    received += chunk.byteLength;
    if (received > JWKS_MAX_BYTES) {
      throw tooLarge(host);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Statuses whose Response cannot carry a body (Fetch standard, "null body status"). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

export interface JwksFetcher {
  readonly fetch: JwksFetch;
  /** Closes the kept-alive connections. */
  close(): Promise<void>;
}

export function createJwksFetcher(options: JwksFetchOptions): JwksFetcher {
  const dispatcher = createGuardedAgent(options.allowLoopback);
  const refuse = (refusal: JwksFetchRefused): never => {
    options.onRefused?.(refusal);
    throw refusal;
  };

  const fetch: JwksFetch = async (input, init = {}) => {
    if (input instanceof Request) throw new TypeError('a JWKS is fetched by URL');
    const url = new URL(input);
    if (!isAllowedJwksUri(url.href, options.allowLoopback)) {
      refuse(new JwksFetchRefused('url_not_allowed', url.host, `JWKS URI on ${url.host} is not allowed`));
    }
    let response: Awaited<ReturnType<typeof undiciFetch>>;
    try {
      response = await undiciFetch(url, {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(new Headers(init.headers)),
        signal: init.signal ?? AbortSignal.timeout(FETCH_TIMEOUT_MS),
        redirect: 'manual',
        dispatcher,
      });
    } catch (error) {
      const refusal = refusalIn(error);
      throw refusal ? refuse(refusal) : error;
    }
    try {
      if (response.status >= 300 && response.status < 400) {
        refuse(new JwksFetchRefused('redirect_refused', url.host, `JWKS from ${url.host} redirects`));
      }
      if (Number(response.headers.get('content-length') ?? 0) > JWKS_MAX_BYTES) {
        refuse(tooLarge(url.host));
      }
      const body = await cappedBody(response.body, url.host).catch((error: unknown) => {
        const refusal = refusalIn(error);
        throw refusal ? refuse(refusal) : error;
      });
      return new Response(NULL_BODY_STATUSES.has(response.status) ? null : body, {
        status: response.status,
        statusText: response.statusText,
        headers: [...response.headers],
      });
    } finally {
      // Release the connection whatever happened to the body.
      if (response.body && !response.bodyUsed) await response.body.cancel().catch(() => undefined);
    }
  };
  return { fetch, close: () => dispatcher.close() };
}
