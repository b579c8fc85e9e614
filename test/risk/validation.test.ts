import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dataset } from '../../src/risk/model/csv.ts';
import { calibration, gainsTable } from '../../src/risk/model/metrics.ts';
import type { ScorecardFeature } from '../../src/risk/model/scorecard.ts';
import {
  binStability,
  characteristic,
  gradeTable,
  parseOotSplit,
  splitOutOfTime,
  twoSidedP,
  vif,
} from '../../src/risk/model/validation.ts';

const close = (actual: number, expected: number): void =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} is not ${expected}`);

describe('gains table', () => {
  it('counts goods and bads per band from the top and what each cut-off approves', () => {
    // Scores 700 (G G B), 650 (G B), 600 (B B G G) in bands cut at 690, 640 and -inf (600).
    const scores = [700, 700, 700, 650, 650, 600, 600, 600, 600];
    const good = [true, true, false, true, false, false, false, true, true];
    const [top, middle, bottom] = gainsTable(scores, good, [600, 690, 640]);
    assert.deepEqual(
      [top!.goods, top!.bads, middle!.goods, middle!.bads, bottom!.goods, bottom!.bads],
      [2, 1, 1, 1, 2, 2],
    );
    close(top!.approvalRate, 3 / 9);
    close(top!.cumBadRate, 1 / 3);
    close(middle!.approvalRate, 5 / 9);
    close(middle!.cumBadRate, 2 / 5);
    close(bottom!.approvalRate, 1);
    close(bottom!.cumBadRate, 4 / 9);
    close(top!.odds, 2);
    assert.equal(bottom!.cumGoods, 5);
  });
});

describe('calibration error', () => {
  it('is the row-weighted mean gap between predicted and observed bad rates', () => {
    // Two buckets of two: predicted 0.1, 0.3 (mean 0.2) with 0 bads; 0.5, 0.7 (mean 0.6) with 2 bads.
    const pd = [0.7, 0.1, 0.5, 0.3];
    const good = [false, true, false, true];
    const { buckets, error } = calibration(pd, good, 2);
    close(buckets[0]!.predicted, 0.2);
    close(buckets[0]!.observed, 0);
    close(buckets[1]!.predicted, 0.6);
    close(buckets[1]!.observed, 1);
    close(error, 0.5 * 0.2 + 0.5 * 0.4);
  });
});

describe('variance inflation factor', () => {
  it('is 1 / (1 - r²) of each column on the others: r = 0.8 gives 1 / 0.36', () => {
    // Deviations from 2.5: (-1.5, -0.5, 0.5, 1.5) and (-1.5, 0.5, -0.5, 1.5): covariance 4, variances 5.
    const [a, b] = vif([
      [1, 2, 3, 4],
      [1, 3, 2, 4],
    ]);
    close(a!, 1 / 0.36);
    close(b!, 1 / 0.36);
  });

  it('is infinite for a column that copies another', () => {
    const [a] = vif([
      [1, 2, 3, 4],
      [2, 4, 6, 8],
    ]);
    assert.equal(a, Number.POSITIVE_INFINITY);
  });
});

describe('coefficient significance', () => {
  it('gives the two-sided normal p of a Wald z', () => {
    assert.ok(Math.abs(twoSidedP(1.959964) - 0.05) < 1e-6);
    assert.ok(Math.abs(twoSidedP(-2.575829) - 0.01) < 1e-6);
    assert.ok(Math.abs(twoSidedP(0) - 1) < 1e-6);
  });
});

describe('grade table', () => {
  it('puts each score in the first grade whose lower bound it reaches and counts bads', () => {
    const cuts = [
      { grade: 'A' as const, minScore: 700 },
      { grade: 'B' as const, minScore: 650 },
      { grade: 'C' as const, minScore: null },
    ];
    const table = gradeTable([720, 700, 690, 650, 600, 500], [true, false, true, true, false, false], cuts);
    assert.deepEqual(
      table.map((g) => [g.grade, g.rows, g.bads]),
      [
        ['A', 2, 1],
        ['B', 2, 0],
        ['C', 2, 2],
      ],
    );
    close(table[0]!.badRate, 0.5);
  });
});

describe('characteristic analysis', () => {
  it('gives the share shift per bin, the average score shift and the PSI', () => {
    const feature = {
      name: 'x',
      bins: [
        { label: 'low', points: 10 },
        { label: 'high', points: -5 },
      ],
    } as unknown as ScorecardFeature;
    // Development 3:1, out of time 1:1.
    const c = characteristic(feature, Int32Array.from([0, 0, 0, 1]), Int32Array.from([0, 1]));
    close(c.rows[0]!.scoreShift, (0.5 - 0.75) * 10);
    close(c.rows[1]!.scoreShift, (0.5 - 0.25) * -5);
    close(c.scoreShift, -3.75);
    close(c.psi, 0.25 * Math.log(3));
  });
});

describe('out-of-time split', () => {
  const data: Dataset = {
    rowCount: 4,
    columns: [
      { name: 'month', kind: 'categorical', values: ['2024-05', '2024-07', null, '2024-08'] },
      { name: 'n', kind: 'numeric', values: [1, 2, 3, 4] },
    ],
  };

  it('sends rows at or after the period to the out-of-time sample and blanks to development', () => {
    const { development, outOfTime } = splitOutOfTime(data, parseOotSplit('month>=2024-07')!);
    assert.deepEqual(development.columns[1]!.values, [1, 3]);
    assert.deepEqual(outOfTime.columns[1]!.values, [2, 4]);
  });

  it('refuses a split that leaves one side empty or names no column', () => {
    assert.throws(() => splitOutOfTime(data, { column: 'n', from: '9' }), /leaves 4 development and 0/);
    assert.throws(() => splitOutOfTime(data, { column: 'nope', from: '1' }), /unknown out-of-time column/);
    assert.equal(parseOotSplit('month=2024'), null);
  });
});

describe('bin stability', () => {
  const f = (
    feature: string,
    bins: number,
    iv: number,
    coefficient: number,
    cuts: number[] | null = null,
  ) => ({
    feature,
    bins,
    cuts,
    iv,
    coefficient,
  });

  it('counts the folds that kept a feature, its bin and IV ranges and the folds whose weight flips sign', () => {
    const folds = [
      [f('a', 3, 0.2, -1, [1, 5]), f('b', 2, 0.05, -0.5)],
      [f('a', 4, 0.3, -0.9, [1, 3, 5])],
      [f('a', 3, 0.25, 0.1, [2, 5]), f('b', 2, 0.04, -0.4)],
    ];
    const [a, b] = binStability(['a'], folds);
    assert.deepEqual(
      [
        a!.feature,
        a!.inFinal,
        a!.selectedIn,
        a!.folds,
        a!.binsMin,
        a!.binsMax,
        a!.ivMin,
        a!.ivMax,
        a!.signFlips,
      ],
      ['a', true, 3, 3, 3, 4, 0.2, 0.3, 1],
    );
    assert.deepEqual(a!.cuts, [
      [1, 5],
      [1, 3, 5],
      [2, 5],
    ]);
    assert.deepEqual(
      [b!.feature, b!.inFinal, b!.selectedIn, b!.binsMin, b!.binsMax, b!.ivMin, b!.ivMax, b!.signFlips],
      ['b', false, 2, 2, 2, 0.04, 0.05, 0],
    );
    assert.deepEqual(b!.cuts, [null, null, null]);
  });

  it('gives a final-model feature no fold kept no range rather than an infinite one', () => {
    const [c] = binStability(['c'], [[f('a', 3, 0.2, -1)], [f('a', 3, 0.2, -1)]]);
    assert.equal(c!.selectedIn, 0);
    assert.equal(c!.signFlips, 0);
    for (const v of [c!.binsMin, c!.binsMax, c!.ivMin, c!.ivMax]) assert.ok(Number.isNaN(v));
  });

  it('counts a flip against the majority sign: two positive weights among five folds are two flips', () => {
    const folds = [-1, -0.8, 0.2, -0.5, 0.1].map((b) => [f('x', 3, 0.1, b)]);
    assert.equal(binStability(['x'], folds)[0]!.signFlips, 2);
  });
});
