import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MicroBatcher, MicroBatchOverloadedError } from '../../src/store/micro-batch.ts';

/** A batch runner that records the batches it saw and doubles each item; `bad` items fail. */
function doubler(bad = new Set<number>()) {
  const batches: number[][] = [];
  const run = async (items: number[]) => {
    batches.push([...items]);
    await new Promise((r) => setTimeout(r, 5));
    if (items.some((i) => bad.has(i))) throw new Error(`bad item in ${items.join(',')}`);
    return items.map((i) => i * 2);
  };
  return { batches, run };
}

describe('micro-batching of per-request statements', () => {
  test('a lone call goes out alone at once, without waiting for company', async () => {
    const { batches, run } = doubler();
    const batcher = new MicroBatcher(run, { maxBatch: 8, maxInFlight: 1 });
    assert.equal(await batcher.submit(21), 42);
    assert.deepEqual(batches, [[21]]);
  });

  test('calls that arrive while a batch runs share the next batch, each getting its own answer', async () => {
    const { batches, run } = doubler();
    const batcher = new MicroBatcher(run, { maxBatch: 100, maxInFlight: 1 });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => batcher.submit(i)));
    assert.deepEqual(
      answers,
      Array.from({ length: 50 }, (_, i) => i * 2),
    );
    assert.ok(batches.length < 50, `50 calls took ${batches.length} batches`);
    assert.deepEqual(
      batches.flat().sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  test('without retryAlone a failed batch runs once and every caller in it gets its error', async () => {
    const { batches, run } = doubler(new Set([3]));
    const batcher = new MicroBatcher(run, { maxBatch: 100, maxInFlight: 1, retryAlone: false });
    const first = batcher.submit(1);
    await new Promise((r) => setImmediate(r)); // [1] is in flight: the rest wait and share a batch
    const rest = [2, 3, 4].map((i) => batcher.submit(i));
    assert.equal(await first, 2);
    const settled = await Promise.allSettled(rest);
    assert.ok(settled.every((s) => s.status === 'rejected' && /bad item/.test(String(s.reason))));
    assert.deepEqual(batches, [[1], [2, 3, 4]], 'no item ran again on its own');
    assert.equal(batcher.waiting, 0);
  });

  test('no batch is larger than maxBatch and no more than maxInFlight run at once', async () => {
    let running = 0;
    let peak = 0;
    const sizes: number[] = [];
    const batcher = new MicroBatcher(
      async (items: number[]) => {
        running++;
        peak = Math.max(peak, running);
        sizes.push(items.length);
        await new Promise((r) => setTimeout(r, 3));
        running--;
        return items;
      },
      { maxBatch: 7, maxInFlight: 2 },
    );
    await Promise.all(Array.from({ length: 200 }, (_, i) => batcher.submit(i)));
    assert.ok(Math.max(...sizes) <= 7, `largest batch ${Math.max(...sizes)}`);
    assert.equal(peak, 2);
    assert.equal(batcher.waiting, 0);
  });

  test('a failing item fails only its own caller: the rest of its batch is retried one by one', async () => {
    const { run } = doubler(new Set([13]));
    const batcher = new MicroBatcher(run, { maxBatch: 100, maxInFlight: 1 });
    const settled = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => batcher.submit(i)));
    for (const [i, s] of settled.entries()) {
      if (i === 13) assert.equal(s.status, 'rejected');
      else assert.deepEqual(s, { status: 'fulfilled', value: i * 2 });
    }
  });

  test('the one-by-one retries of a failed batch keep to maxInFlight statements at once', async () => {
    let running = 0;
    let peak = 0;
    const batcher = new MicroBatcher(
      async (items: number[]) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 2));
        running--;
        if (items.includes(13)) throw new Error('bad item 13');
        return items;
      },
      { maxBatch: 40, maxInFlight: 2 },
    );
    const settled = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => batcher.submit(i)));
    assert.equal(settled.filter((s) => s.status === 'rejected').length, 1);
    assert.equal(peak, 2, `statements at once: ${peak}`);
    assert.equal(batcher.waiting, 0);
  });

  test('a runner that answers the wrong number of outputs fails every caller of that batch', async () => {
    const batcher = new MicroBatcher(async (items: number[]) => items.slice(1), {
      maxBatch: 10,
      maxInFlight: 1,
    });
    const settled = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    assert.ok(settled.every((s) => s.status === 'rejected'));
  });

  test('past maxWaiting a call is refused at once with MicroBatchOverloadedError, and the queued ones still answer', async () => {
    const batcher = new MicroBatcher(
      async (items: number[]) => {
        await new Promise((r) => setTimeout(r, 5));
        return items;
      },
      { maxBatch: 2, maxInFlight: 1, maxWaiting: 3 },
    );
    const calls = Array.from({ length: 5 }, (_, i) => batcher.submit(i));
    const settled = await Promise.allSettled(calls);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected'],
    );
    assert.ok((settled[3] as PromiseRejectedResult).reason instanceof MicroBatchOverloadedError);
  });

  test('calls of different groups never share a batch, and the oldest call picks the next group', async () => {
    const { batches, run } = doubler();
    const batcher = new MicroBatcher(run, { maxBatch: 4, maxInFlight: 1 });
    const group = (i: number) => `g${i % 3}`;
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => batcher.submit(i, group(i))));
    assert.deepEqual(
      answers,
      Array.from({ length: 30 }, (_, i) => i * 2),
    );
    for (const batch of batches) {
      assert.ok(batch.length <= 4, `batch ${batch.join(',')} is larger than maxBatch`);
      assert.equal(new Set(batch.map(group)).size, 1, `batch ${batch.join(',')} mixes groups`);
    }
    assert.ok(
      batches.some((b) => b.length > 1),
      'calls of one group still shared batches',
    );
    // after the first (lone) batch, each batch starts with the oldest call still waiting
    const firsts = batches.slice(1).map((b) => b[0]!);
    assert.deepEqual(
      firsts,
      [...firsts].sort((a, b) => a - b),
    );
  });
});
