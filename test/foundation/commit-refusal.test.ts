/**
 * The pool gives a commit that a Citus worker refused the worker's SQLSTATE and reason
 * (src/store/commit-refusal.ts); the end-to-end proof is test/lending/ledger-invariants.test.ts on
 * one PostgreSQL and on Citus. Here: which warnings count, that one is used at most once, and that
 * refusals are paired with commit errors in order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commitRefusals, REFUSALS_KEPT_MAX } from '../../src/store/commit-refusal.ts';

const WORKER_REFUSAL = {
  severity: 'WARNING',
  code: '23514',
  message: 'journal entry 7 has no lines',
  where:
    'PL/pgSQL function journal_entry_has_lines() line 9 at RAISE\nwhile executing command on 127.0.0.1:5433',
};
const commitFailed = () =>
  Object.assign(new Error('could not commit transaction for shard 102066 on at least one active node'), {
    code: 'XX000',
  });

test('a Citus commit failure after a worker refusal carries the refusal code and reason, the original in brackets', () => {
  const refusals = commitRefusals();
  refusals.onNotice(WORKER_REFUSAL);
  refusals.onNotice({
    severity: 'WARNING',
    code: '01000',
    message: 'failed to commit transaction on 127.0.0.1:5433',
  });
  const err = refusals.restore(commitFailed());
  assert.equal(err.code, '23514');
  assert.match(err.message, /^journal entry 7 has no lines \(could not commit transaction for shard 102066/);
});

test('a refusal warning is used once, and a commit failure without one is left as Citus reported it', () => {
  const refusals = commitRefusals();
  refusals.onNotice(WORKER_REFUSAL);
  assert.equal(refusals.restore(commitFailed()).code, '23514');
  assert.equal(refusals.restore(commitFailed()).code, 'XX000');
});

test('warnings that are not a worker integrity refusal, or are too old, change nothing', () => {
  let nowMs = 0;
  const refusals = commitRefusals(() => nowMs);
  refusals.onNotice({ ...WORKER_REFUSAL, where: 'PL/pgSQL function on this node' });
  refusals.onNotice({ ...WORKER_REFUSAL, code: '42501' });
  assert.equal(refusals.restore(commitFailed()).code, 'XX000');
  refusals.onNotice(WORKER_REFUSAL);
  nowMs += 60_000;
  assert.equal(refusals.restore(commitFailed()).code, 'XX000');
});

test('errors other than Citus commit failures pass through untouched', () => {
  const refusals = commitRefusals();
  refusals.onNotice(WORKER_REFUSAL);
  const other = Object.assign(new Error('deadlock detected'), { code: '40P01' });
  assert.equal(refusals.restore(other), other);
  assert.equal(other.code, '40P01');
  assert.equal(refusals.restore(commitFailed()).code, '23514', 'the refusal is still there for its commit');
});

test('two commits refused at once each get their own reason back, in the order they were warned of', () => {
  const refusals = commitRefusals();
  refusals.onNotice(WORKER_REFUSAL);
  refusals.onNotice({ ...WORKER_REFUSAL, message: 'journal entry 8 has no lines' });
  assert.match(refusals.restore(commitFailed()).message, /^journal entry 7 /);
  assert.match(refusals.restore(commitFailed()).message, /^journal entry 8 /);
  assert.equal(refusals.restore(commitFailed()).code, 'XX000');
});

test('refusals never answered by a commit error are kept only up to the bound', () => {
  const refusals = commitRefusals();
  for (let i = 0; i < REFUSALS_KEPT_MAX + 5; i++)
    refusals.onNotice({ ...WORKER_REFUSAL, message: `journal entry ${i} has no lines` });
  assert.match(refusals.restore(commitFailed()).message, /^journal entry 5 /, 'the oldest five were dropped');
});
