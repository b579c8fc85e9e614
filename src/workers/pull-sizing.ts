/**
 * How many orders the settler asks for in its next pull. A pull returns when it holds what it asked
 * for or when it expires (JetStream's minimum is a second). With a fixed, large request a quiet
 * stream is settled once a second, in one burst that holds the cores while intake waits, and each
 * order waits up to that second to settle. So the request follows the stream: while pulls come back
 * full (a backlog) it doubles, up to the batch size, where settlement is cheapest per order; while
 * they come back short it shrinks to what arrives in `PULL_FILL_TARGET_MS`, so orders are settled
 * in small steady steps soon after they arrive.
 */

/** The smallest request: below it, a batch's fixed statements cost more than its orders. */
export const PULL_MIN = 16;
/** At low load, a pull is sized to fill in about this long. */
export const PULL_FILL_TARGET_MS = 50;

export interface PullOutcome {
  /** What the pull asked for. */
  asked: number;
  /** What it returned. */
  got: number;
  /** How long it was out. */
  elapsedMs: number;
}

/** The next pull's request, between `PULL_MIN` (or `batchMax`, if smaller) and `batchMax`. */
export function nextPullSize(last: PullOutcome, batchMax: number): number {
  if (!(batchMax >= 1 && last.asked >= 1 && last.got >= 0 && last.got <= last.asked))
    throw new RangeError(`pull outcome out of range: ${JSON.stringify(last)} of ${batchMax}`);
  const floor = Math.min(PULL_MIN, batchMax);
  if (last.got >= last.asked) return Math.min(batchMax, Math.max(floor, last.asked * 2));
  const perMs = last.got / Math.max(1, last.elapsedMs);
  return Math.min(batchMax, Math.max(floor, Math.ceil(perMs * PULL_FILL_TARGET_MS)));
}
