import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_GUARD_RAILS,
  guardRailCrossed,
  ProfileError,
  parseProfile,
  profileSeconds,
  rateAt,
} from '../../src/rehearsal/profile.ts';
import { firstSaturated, summarize } from '../../src/rehearsal/report.ts';
import { dueOn, parseMonths } from '../../src/rehearsal/schedule.ts';
import type { SampleRow, ScheduleRow } from '../../src/store/rehearsals.ts';

const sample = (i: number, over: Partial<SampleRow> = {}): SampleRow => ({
  secondIndex: i,
  phase: 'hold',
  targetPerS: 100,
  sent: 100,
  accepted: 100,
  refused: 0,
  failed: 0,
  p50Us: 2_000,
  p99Us: 5_000,
  backlog: 0,
  pgActive: 2,
  pgCommitsPerS: 100,
  redisOpsPerS: 300,
  redisMemoryBytes: 1_000_000,
  ...over,
});

describe('rehearsal profiles, guard rails, report figures and schedules', () => {
  test('a profile ramps linearly, holds and bursts, second by second', () => {
    const phases = parseProfile('ramp:5s:0-100,hold:2s:100,burst:1s:500');
    assert.equal(profileSeconds(phases), 8);
    assert.deepEqual(
      Array.from({ length: 9 }, (_, t) => rateAt(phases, t)?.perS),
      [0, 25, 50, 75, 100, 100, 100, 500, undefined],
    );
    assert.equal(rateAt(phases, 7)?.phase, 'burst');
  });

  test('a profile that is malformed, too long or too fast is refused with a reason', () => {
    for (const bad of [
      '',
      'hold:10:5',
      'hold:10s:5-6',
      'ramp:0s:1-2',
      'hold:3601s:1',
      'burst:1s:50001',
      'x:1s:1',
    ]) {
      assert.throws(() => parseProfile(bad), ProfileError, bad);
    }
  });

  test('guard rails stop on error rate over the window, or on p99 or backlog above the line every second', () => {
    const rails = { ...DEFAULT_GUARD_RAILS, windowSeconds: 2 };
    const ok = { sent: 100, failed: 0, p99Ms: 10, backlog: 0 };
    assert.equal(guardRailCrossed(rails, [ok, ok, ok]), undefined);
    assert.match(guardRailCrossed(rails, [ok, { ...ok, failed: 3 }]) ?? '', /error rate 1.5%/);
    assert.equal(
      guardRailCrossed(rails, [{ ...ok, p99Ms: 5_000 }, ok]),
      undefined,
      'one slow second is noise',
    );
    assert.match(
      guardRailCrossed(rails, [
        { ...ok, p99Ms: 5_000 },
        { ...ok, p99Ms: 2_000 },
      ]) ?? '',
      /p99 above/,
    );
    const deep = { ...ok, backlog: 200_000 };
    assert.match(guardRailCrossed(rails, [deep, deep]) ?? '', /backlog above/);
  });

  test('the first component to saturate follows the stated rule', () => {
    assert.equal(firstSaturated([sample(0), sample(1)]), null);
    assert.equal(
      firstSaturated([sample(0, { p99Us: 900_000 }), sample(1)]),
      null,
      'a warm-up second is not saturation',
    );
    const lag = firstSaturated([0, 1, 2, 3].map((i) => sample(i, i > 0 ? { accepted: 80 } : {})));
    assert.deepEqual([lag?.component, lag?.second], ['intake', 3]);
    const slow = firstSaturated([0, 1, 2, 3].map((i) => sample(i, i > 0 ? { p99Us: 60_000 } : {})));
    assert.deepEqual([slow?.component, slow?.second], ['intake', 3]);
    const backlog = firstSaturated([0, 10, 20, 30].map((b, i) => sample(i, { backlog: b })));
    assert.deepEqual([backlog?.component, backlog?.second], ['settlement', 3]);
    assert.equal(firstSaturated([sample(0, { pgActive: 40 })])?.component, 'PostgreSQL');
  });

  test('the summary sums the samples and sets the hold median against the target', () => {
    const samples = [
      sample(0, { phase: 'ramp', accepted: 50, sent: 50 }),
      sample(1, { accepted: 90, refused: 10 }),
      sample(2, { accepted: 100 }),
      sample(3, { accepted: 80, refused: 20, p99Us: 9_000 }),
      sample(4, { phase: 'burst', accepted: 300, sent: 300 }),
    ];
    const rehearsal = {
      id: 'r',
      openedAt: new Date(),
      closesAt: new Date(),
      closedAt: null,
      targetOrdersPerS: 120,
    };
    const s = summarize({
      rehearsal,
      startedAt: new Date(),
      finishedAt: null,
      profile: 'p',
      stopReason: null,
      samples,
    });
    assert.equal(s.sent, 650);
    assert.equal(s.accepted, 620);
    assert.equal(s.refused, 30);
    assert.equal(s.peakAcceptedPerS, 300);
    assert.equal(s.sustainedAcceptedPerS, 90);
    assert.equal(s.headroom, 0.75);
    assert.equal(s.worstP99Ms, 9);
  });

  test('a schedule falls due on its day of a listed month and stays due until marked run', () => {
    const s: ScheduleRow = {
      id: 1n,
      kind: 'failover',
      months: parseMonths('10,3,8'),
      dayOfMonth: 15,
      label: 'x',
      lastRunOn: null,
    };
    assert.deepEqual(s.months, [3, 8, 10]);
    assert.equal(dueOn([s], '2027-03-14').length, 0);
    assert.equal(dueOn([s], '2027-03-15').length, 1);
    assert.equal(dueOn([s], '2027-03-20').length, 1, 'a missed day is still due');
    assert.equal(dueOn([{ ...s, lastRunOn: '2027-03-15' }], '2027-03-20').length, 0);
    assert.equal(dueOn([s], '2027-04-15').length, 0);
    assert.throws(() => parseMonths('0,13'));
  });
});
