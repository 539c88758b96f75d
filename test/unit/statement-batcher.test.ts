import { describe, expect, it } from 'vitest';
import { StatementBatcher } from '../../src/infra/statement-batcher.js';

/** A run whose batches the test releases by hand, recording what each carried. */
function manualRun() {
  const batches: { inputs: readonly number[]; release(error?: Error): void }[] = [];
  const run = (inputs: readonly number[]) =>
    new Promise<readonly string[]>((resolve, reject) => {
      batches.push({
        inputs,
        release: (error) => (error ? reject(error) : resolve(inputs.map((input) => `answer ${input}`))),
      });
    });
  return { batches, run };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('StatementBatcher', () => {
  it('sends a lone call at once, alone', async () => {
    const { batches, run } = manualRun();
    const batcher = new StatementBatcher(run, { max: 64, inFlight: 2 });
    const answer = batcher.submit(1);
    expect(batches.map((batch) => batch.inputs)).toEqual([[1]]);
    batches[0]?.release();
    await expect(answer).resolves.toBe('answer 1');
  });

  it('lets calls that arrive while the batches are busy leave together, each with its own answer', async () => {
    const { batches, run } = manualRun();
    const batcher = new StatementBatcher(run, { max: 3, inFlight: 2 });
    const answers = [1, 2, 3, 4, 5, 6, 7].map((input) => batcher.submit(input));
    expect(batches.map((batch) => batch.inputs)).toEqual([[1], [2]]);
    expect(batcher.waiting).toBe(5);
    batches[0]?.release();
    await settle();
    expect(batches.map((batch) => batch.inputs)).toEqual([[1], [2], [3, 4, 5]]);
    batches[1]?.release();
    await settle();
    expect(batches.map((batch) => batch.inputs)).toEqual([[1], [2], [3, 4, 5], [6, 7]]);
    batches[2]?.release();
    batches[3]?.release();
    await expect(Promise.all(answers)).resolves.toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => `answer ${n}`));
    expect(batcher.waiting).toBe(0);
  });

  it('rejects every call of a failed batch with its error, and only those', async () => {
    const { batches, run } = manualRun();
    const batcher = new StatementBatcher(run, { max: 2, inFlight: 1 });
    const first = batcher.submit(1);
    const second = batcher.submit(2);
    const third = batcher.submit(3);
    batches[0]?.release(new Error('connection lost'));
    await expect(first).rejects.toThrow('connection lost');
    await settle();
    expect(batches[1]?.inputs).toEqual([2, 3]);
    batches[1]?.release();
    await expect(Promise.all([second, third])).resolves.toEqual(['answer 2', 'answer 3']);
  });

  it('rejects the calls of a batch that answers the wrong number of results', async () => {
    const batcher = new StatementBatcher(async () => ['only one'], { max: 8, inFlight: 1 });
    const waiting = [batcher.submit(1), batcher.submit(2)];
    await expect(waiting[0]).resolves.toBe('only one');
    // 3 leaves alone (one answer: fine); 4 and 5 leave together and get one answer for two.
    const settled = await Promise.allSettled([batcher.submit(3), batcher.submit(4), batcher.submit(5)]);
    expect(settled.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
  });
});
