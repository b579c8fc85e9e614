import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calibration, gainsTable } from '../../src/risk/model/metrics.ts';

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
