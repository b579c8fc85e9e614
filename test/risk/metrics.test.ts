import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auc, gini, histogram, ks, psi, rocCurve } from '../../src/risk/model/metrics.ts';

const close = (actual: number, expected: number, eps = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= eps, `${actual} is not within ${eps} of ${expected}`);

describe('AUC', () => {
  it('is the share of positive-negative pairs ranked correctly', () => {
    // pairs (pos, neg): (0.35, 0.1) right, (0.35, 0.4) wrong, (0.8, 0.1) right, (0.8, 0.4) right -> 3/4
    close(auc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), 0.75);
  });

  it('counts a tied positive-negative pair as half a correct pair', () => {
    // positives {2, 3}, negatives {1, 2}: 2>1 = 1, 2=2 = 0.5, 3>1 = 1, 3>2 = 1 -> 3.5 / 4
    close(auc([1, 2, 2, 3], [false, true, false, true]), 0.875);
  });

  it('is one half when every score is the same', () => {
    close(auc([5, 5, 5, 5], [true, false, true, false]), 0.5);
  });

  it('gives Gini as 2 AUC - 1', () => {
    close(gini(0.875), 0.75);
    close(gini(0.5), 0);
  });

  it('refuses labels of one class only', () => {
    assert.throws(() => auc([1, 2], [true, true]), RangeError);
  });
});

describe('KS', () => {
  it('is the widest gap between the cumulative distributions of the two classes', () => {
    // negatives at 1, 2, 4; positives at 3, 5, 6. Cumulative (neg, pos) after each score:
    // 1: (1/3, 0)  2: (2/3, 0)  3: (2/3, 1/3)  4: (1, 1/3)  5: (1, 2/3)  6: (1, 1) -> max gap 2/3
    close(ks([1, 2, 3, 4, 5, 6], [false, false, true, false, true, true]), 2 / 3);
  });

  it('does not split tied scores, so identical scores give zero separation', () => {
    close(ks([1, 1, 2, 2], [false, true, false, true]), 0);
  });
});

describe('ROC curve', () => {
  it('runs from (0, 0) to (1, 1) with one point per distinct score', () => {
    const points = rocCurve([1, 2, 2, 3], [false, true, false, true]);
    assert.deepEqual(points, [
      { fpr: 0, tpr: 0 },
      { fpr: 0, tpr: 0.5 },
      { fpr: 0.5, tpr: 1 },
      { fpr: 1, tpr: 1 },
    ]);
  });
});

describe('PSI', () => {
  it('sums (actual - expected) * ln(actual / expected) over bin shares', () => {
    // 0.1 ln(0.6/0.5) + (-0.1) ln(0.4/0.5) = 0.0182322 + 0.0223144
    close(psi([0.5, 0.5], [0.6, 0.4]), 0.040546510810816436);
  });

  it('takes counts as well as shares', () => {
    close(psi([50, 50], [600, 400]), 0.040546510810816436);
  });

  it('is zero for identical distributions', () => {
    close(psi([10, 20, 30], [1, 2, 3]), 0);
  });

  it('floors an empty bin at 1e-4 instead of going infinite', () => {
    // expected shares (1, 1e-4 floored), actual (0.5, 0.5):
    // (0.5 - 1) ln(0.5) + (0.5 - 0.0001) ln(0.5 / 0.0001) = 0.3465736 + 4.2577449
    close(psi([1, 0], [0.5, 0.5]), 4.60431846666895);
  });
});

describe('histogram', () => {
  it('puts a value equal to a cut point in the bin above it', () => {
    assert.deepEqual(histogram([1, 2, 2.5, 3, 9], [2, 3]), [1, 2, 2]);
  });
});
