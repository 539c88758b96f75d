/**
 * A refresh of this service's own signing keys on demand, when a token names a kid this instance
 * does not know: another instance may have activated it since the last periodic refresh. Callers
 * that arrive while a refresh runs share it, and a new one starts at most once per interval, so
 * tokens with made-up kids cannot turn into a database round trip each.
 */
export interface KeyRefreshOptions {
  readonly refresh: () => Promise<void>;
  readonly minIntervalMs: number;
  /** Milliseconds; `Date.now` unless a test steps the clock. */
  readonly clock?: () => number;
}

export class OnDemandKeyRefresh {
  readonly #refresh: () => Promise<void>;
  readonly #minIntervalMs: number;
  readonly #clock: () => number;
  #inFlight: Promise<void> | null = null;
  #lastStartedAt = Number.NEGATIVE_INFINITY;

  constructor(options: KeyRefreshOptions) {
    this.#refresh = options.refresh;
    this.#minIntervalMs = options.minIntervalMs;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Joins the refresh in flight, starts one when the interval allows, or does nothing; resolves
   * when there is nothing more to wait for. Never rejects: a failed refresh leaves the keys as
   * they were, and the caller refuses the token as it would have without one.
   */
  run(): Promise<void> {
    if (this.#inFlight) return this.#inFlight;
    const now = this.#clock();
    if (now - this.#lastStartedAt < this.#minIntervalMs) return Promise.resolve();
    this.#lastStartedAt = now;
    const running = this.#refresh()
      .catch(() => undefined)
      .finally(() => {
        this.#inFlight = null;
      });
    this.#inFlight = running;
    return running;
  }
}
