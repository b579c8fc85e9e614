/**
 * Adaptive micro-batching (group commit) for hot, per-request statements: a call made while
 * `maxInFlight` batches are already running waits and goes out with every other call that
 * arrived meanwhile, as ONE statement. At low load each call goes out alone after the current
 * event-loop turn (no timer, no added wait); under load, batches grow with the backlog, so the
 * database sees one round trip, one plan and one commit per batch instead of per request. That is
 * what loopback syscalls and per-statement overhead cost most of a decision's CPU.
 *
 * A call may name a group (e.g. the node its rows live on, src/store/customer-routing.ts): a batch
 * holds calls of one group only, so a statement about several customers still runs on one node.
 * The oldest call picks the group of the next batch, so no group waits behind a busier one.
 *
 * A batch that fails is retried item by item, so one bad item (an unknown customer, say) fails
 * only its own caller. Those retries go back to the head of the queue as batches of one, so they
 * too keep to `maxInFlight`: a failing batch never floods the pool with one statement per item.
 */
import { invariant } from '../domain/errors.ts';

export interface MicroBatchOptions {
  /** Items per statement at most. */
  maxBatch: number;
  /** Batches running at once (e.g. a share of the connection pool). */
  maxInFlight: number;
  /**
   * Items waiting at most (default MICRO_BATCH_WAITING_MAX); past it a call is refused at once:
   * the database is not keeping up, and a longer queue would only answer callers who gave up.
   */
  maxWaiting?: number;
  /**
   * When an idle batcher sends: 'next-turn' (default) after the current event-loop turn's I/O
   * callbacks, so everything parsed in that turn joins; 'this-turn' once the current task and its
   * microtasks are done (process.nextTick), for a client that already defers its own write to the
   * next turn (ioredis auto-pipelining): two deferrals would cost a decision two turns.
   */
  flush?: 'next-turn' | 'this-turn';
  /**
   * Whether a failed batch is retried item by item (default true: one bad item fails only its
   * caller). False for work that is not idempotent and cannot fail for one item (counters: a
   * script that ran but answered late would count twice): every caller gets the batch's error.
   */
  retryAlone?: boolean;
}

export const MICRO_BATCH_WAITING_MAX = 10_000;

/** The batcher already holds maxWaiting items: the caller should shed load, not queue. */
export class MicroBatchOverloadedError extends Error {
  override name = 'MicroBatchOverloadedError';
}

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (err: unknown) => void;
  /** Only calls of one group share a batch. */
  group: string;
  /** Retried alone after its batch failed (such items are always at the head of the queue). */
  alone?: boolean;
}

/** The group of calls that name none: they all share batches. */
export const ANY_GROUP = '';

export class MicroBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;
  /** Batches run and items carried (for tests and metrics: items / batches is the sharing). */
  readonly stats = { batches: 0, items: 0 };

  /** `run` gets 1..maxBatch items and answers one output per item, in the same order. */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: MicroBatchOptions,
  ) {
    invariant(
      options.maxBatch >= 1 && options.maxInFlight >= 1 && (options.maxWaiting ?? 1) >= 1,
      'micro-batch limits must be positive',
    );
  }

  /** Queues `item`; it shares a statement only with items of the same `group`. */
  submit(item: I, group: string = ANY_GROUP): Promise<O> {
    if (this.queue.length >= (this.options.maxWaiting ?? MICRO_BATCH_WAITING_MAX)) {
      return Promise.reject(new MicroBatchOverloadedError(`${this.queue.length} items already waiting`));
    }
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject, group });
      this.schedule();
    });
  }

  /** Items waiting for a batch (for tests and metrics). */
  get waiting(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      this.flush();
    };
    // next turn: after this turn's I/O callbacks, so everything parsed in the same turn joins the batch
    if (this.options.flush === 'this-turn') process.nextTick(run);
    else setImmediate(run);
  }

  private flush(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight++;
      this.stats.batches++;
      this.stats.items += batch.length;
      void this.execute(batch).finally(() => {
        this.inFlight--;
        this.schedule();
      });
    }
  }

  /** The oldest call and, up to maxBatch, the calls of its group behind it; the rest keep their order. */
  private take(): Pending<I, O>[] {
    const head = this.queue[0]!;
    if (head.alone) return this.queue.splice(0, 1);
    const { maxBatch } = this.options;
    if (this.queue.every((p) => p.group === head.group)) return this.queue.splice(0, maxBatch);
    const batch: Pending<I, O>[] = [];
    const rest: Pending<I, O>[] = [];
    for (const p of this.queue) {
      if (batch.length < maxBatch && !p.alone && p.group === head.group) batch.push(p);
      else rest.push(p);
    }
    this.queue = rest;
    return batch;
  }

  private async execute(batch: Pending<I, O>[]): Promise<void> {
    let outputs: O[];
    try {
      outputs = await this.run(batch.map((p) => p.item));
    } catch (err) {
      if (batch.length === 1 || this.options.retryAlone === false) {
        for (const p of batch) p.reject(err);
      } else {
        // each item alone, so only the bad one fails; first in line, as they have waited longest
        for (const p of batch) p.alone = true;
        this.queue.unshift(...batch);
      }
      return;
    }
    if (outputs.length !== batch.length) {
      // a broken `run`: every caller hears of it rather than one getting another's answer
      const err = new Error(`micro-batch answered ${outputs.length} outputs for ${batch.length} items`);
      for (const p of batch) p.reject(err);
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(outputs[i]!);
  }
}
