/**
 * Prometheus metrics (CONTRACT §5). Each app has its own registry, so several instances in one
 * process (the tests) never share counters; the process metrics (CPU, memory, event loop, GC)
 * describe the process, so they are collected once and shared by every app's registry.
 *
 * Every label takes its values from a small fixed set (grant types, outcomes, rule codes, route
 * patterns, status codes), never from raw request input, so the series count stays bounded.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE, GRANT_JWT_BEARER } from '../domain/types.js';

export type TokenOutcome = 'granted' | 'denied' | 'error';

/** Seconds; from a cached token decision to a slow trusted-issuer JWKS fetch. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const KNOWN_GRANT_TYPES = new Set<string>([GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE, GRANT_JWT_BEARER]);

let processRegistry: Registry | null = null;

function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** A grant type as a label value: the two this service knows, else `other`, or `none` when absent. */
export function grantTypeLabel(value: unknown): string {
  if (typeof value !== 'string' || value === '') return 'none';
  return KNOWN_GRANT_TYPES.has(value) ? value : 'other';
}

/** 2xx granted, 5xx error, any other refusal denied. */
export function tokenOutcome(status: number): TokenOutcome {
  if (status >= 200 && status < 300) return 'granted';
  return status >= 500 ? 'error' : 'denied';
}

export class ServiceMetrics {
  /** What GET /metrics serves: this app's metrics and the shared process metrics. */
  readonly registry: Registry;
  readonly tokenRequests: Counter<'grant_type' | 'outcome'>;
  readonly exchangeDecisions: Counter<'decision' | 'rule'>;
  readonly tokenRequestDuration: Histogram<'grant_type' | 'outcome'>;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  #changeFeedListening: () => boolean = () => false;

  constructor() {
    const own = new Registry();
    this.tokenRequests = new Counter({
      name: 'agent_sts_token_requests_total',
      help: 'Token-endpoint requests by grant type and outcome (granted, denied, error).',
      labelNames: ['grant_type', 'outcome'],
      registers: [own],
    });
    this.exchangeDecisions = new Counter({
      name: 'agent_sts_exchange_decisions_total',
      help: 'Token-exchange decisions (RFC 8693) by decision and the rule that decided, as in the audit log.',
      labelNames: ['decision', 'rule'],
      registers: [own],
    });
    this.tokenRequestDuration = new Histogram({
      name: 'agent_sts_token_request_duration_seconds',
      help: 'Token-endpoint request latency, client authentication and policy included.',
      labelNames: ['grant_type', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [own],
    });
    this.httpRequestDuration = new Histogram({
      name: 'agent_sts_http_request_duration_seconds',
      help: 'HTTP request latency by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: LATENCY_BUCKETS,
      registers: [own],
    });
    const changeFeed: Gauge = new Gauge({
      name: 'agent_sts_change_feed_listening',
      help: "1 while this instance listens for other instances' changes (ADR 0017); 0: only its safety nets bound staleness.",
      registers: [own],
      collect: (): void => changeFeed.set(this.#changeFeedListening() ? 1 : 0),
    });
    this.registry = Registry.merge([processMetrics(), own]);
  }

  /** Tells `agent_sts_change_feed_listening` whether the change feed's connection is up (ADR 0017). */
  watchChangeFeed(listening: () => boolean): void {
    this.#changeFeedListening = listening;
  }

  /** One token-endpoint request, as the provider answered it. */
  recordTokenRequest(
    grantType: string,
    status: number,
    seconds: number,
    decision?: { readonly decision: 'granted' | 'denied'; readonly rule: string },
  ): void {
    const labels = { grant_type: grantType, outcome: tokenOutcome(status) };
    this.tokenRequests.inc(labels);
    this.tokenRequestDuration.observe(labels, seconds);
    if (decision && grantType === GRANT_TOKEN_EXCHANGE) this.exchangeDecisions.inc(decision);
  }
}
