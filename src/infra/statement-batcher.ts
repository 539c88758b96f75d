/**
 * Many concurrent callers, few statements (ADR 0021): each call waits in a queue; while fewer than
 * `inFlight` batches are running, up to `max` waiting calls leave together as one batch. A call
 * arriving while the batches are busy waits for the next one, so under load the batches grow and
 * the statements per call fall, and a lone call never waits for company. Each caller's promise
 * settles with its own batch: with its own answer, or with the batch's error for every call of it.
 */
export interface StatementBatcherOptions {
  /** Most calls one batch carries. */
  readonly max: number;
  /** Batches running at once (each holds a pooled connection until it answers). */
  readonly inFlight: number;
}

interface Waiting<Input, Output> {
  readonly input: Input;
  resolve(output: Output): void;
  reject(error: unknown): void;
}

export class StatementBatcher<Input, Output> {
  readonly #run: (inputs: readonly Input[]) => Promise<readonly Output[]>;
  readonly #options: StatementBatcherOptions;
  readonly #waiting: Waiting<Input, Output>[] = [];
  #running = 0;

  /** `run` answers one output per input, in the inputs' order. */
  constructor(
    run: (inputs: readonly Input[]) => Promise<readonly Output[]>,
    options: StatementBatcherOptions,
  ) {
    this.#run = run;
    this.#options = options;
  }

  submit(input: Input): Promise<Output> {
    return new Promise<Output>((resolve, reject) => {
      this.#waiting.push({ input, resolve, reject });
      this.#start();
    });
  }

  /** Calls waiting for a batch (not counting those in flight). */
  get waiting(): number {
    return this.#waiting.length;
  }

  #start(): void {
    while (this.#running < this.#options.inFlight && this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.#options.max);
      this.#running += 1;
      this.#run(batch.map((call) => call.input))
        .then((outputs) => {
          if (outputs.length !== batch.length) {
            throw new Error(`a batch of ${batch.length} answered ${outputs.length} results`);
          }
          batch.forEach((call, index) => call.resolve(outputs[index] as Output));
        })
        .catch((error: unknown) => {
          for (const call of batch) call.reject(error);
        })
        .finally(() => {
          this.#running -= 1;
          this.#start();
        });
    }
  }
}
