import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextPullSize, PULL_FILL_TARGET_MS, PULL_MIN } from '../../src/workers/pull-sizing.ts';

const BATCH_MAX = 1000;

test('a backlog (pulls coming back full) doubles the request up to the batch size', () => {
  assert.equal(nextPullSize({ asked: 16, got: 16, elapsedMs: 3 }, BATCH_MAX), 32);
  assert.equal(nextPullSize({ asked: 600, got: 600, elapsedMs: 40 }, BATCH_MAX), BATCH_MAX);
  assert.equal(nextPullSize({ asked: BATCH_MAX, got: BATCH_MAX, elapsedMs: 200 }, BATCH_MAX), BATCH_MAX);
});

test('a short pull sizes the next to what arrives in the fill target', () => {
  // 800 orders over a pull's one-second expiry: 0.8 an ms, 40 in 50 ms
  assert.equal(PULL_FILL_TARGET_MS, 50);
  assert.equal(nextPullSize({ asked: BATCH_MAX, got: 800, elapsedMs: 1000 }, BATCH_MAX), 40);
  // 3,000 a second arrive faster than 1,000 fill in 50 ms: the next pull asks for 150
  assert.equal(nextPullSize({ asked: 200, got: 150, elapsedMs: 50 }, BATCH_MAX), 150);
});

test('a quiet stream asks for the minimum, never for nothing', () => {
  assert.equal(nextPullSize({ asked: BATCH_MAX, got: 0, elapsedMs: 1000 }, BATCH_MAX), PULL_MIN);
  assert.equal(nextPullSize({ asked: 40, got: 1, elapsedMs: 1000 }, BATCH_MAX), PULL_MIN);
  assert.equal(
    nextPullSize({ asked: 4, got: 0, elapsedMs: 0 }, 4),
    4,
    'a batch size below the minimum caps it',
  );
});

test('an impossible outcome (more than asked) is refused', () => {
  assert.throws(() => nextPullSize({ asked: 10, got: 11, elapsedMs: 5 }, BATCH_MAX), RangeError);
  assert.throws(() => nextPullSize({ asked: 0, got: 0, elapsedMs: 5 }, BATCH_MAX), RangeError);
});
