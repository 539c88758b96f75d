/**
 * A bounded map whose entries expire: the SDK's one cache, so the SDK needs no package but jose
 * (CONTRACT §6). When full, the least recently used entry goes first: a Map iterates in insertion
 * order, and a read re-inserts its entry at the end.
 */
export class ExpiringLru<Key, Value> {
  readonly #entries = new Map<Key, { readonly value: Value; readonly expiresAt: number }>();
  readonly #max: number;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('max must be a positive integer');
    this.#max = max;
  }

  /** The live value of `key`, now the most recently used; undefined when absent or expired. */
  get(key: Key): Value | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt <= Date.now()) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Holds `value` for `ttlMs`, dropping the least recently used entries beyond `max`. */
  set(key: Key, value: Value, ttlMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#max) break;
      this.#entries.delete(oldest);
    }
  }
}
