import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '../../src/risk/model/cv.ts';
import {
  DESIGN_BLOCK_ROWS,
  fitLogistic,
  fitLogisticBinned,
  fitLogisticIndicators,
} from '../../src/risk/model/logistic.ts';

const close = (actual: number, expected: number, eps: number): void =>
  assert.ok(Math.abs(actual - expected) <= eps, `${actual} is not within ${eps} of ${expected}`);

/** x = 0: 30 of 100 bad; x = 1: 60 of 100 bad. */
function twoByTwo(): { x: number[][]; y: number[] } {
  const x: number[][] = [];
  const y: number[] = [];
  const add = (xv: number, bad: number, total: number): void => {
    for (let i = 0; i < total; i++) {
      x.push([xv]);
      y.push(i < bad ? 1 : 0);
    }
  };
  add(0, 30, 100);
  add(1, 60, 100);
  return { x, y };
}

describe('logistic regression by IRLS', () => {
  it('recovers the closed-form log-odds and standard errors of a 2x2 table without penalty', () => {
    // intercept = ln(30/70), slope = ln(60/40) - ln(30/70)
    // se(intercept) = sqrt(1/30 + 1/70), se(slope) = sqrt(1/30 + 1/70 + 1/60 + 1/40)
    const { x, y } = twoByTwo();
    const fit = fitLogistic(x, y, { l2: 0 });
    assert.ok(fit.converged);
    close(fit.intercept, Math.log(30 / 70), 1e-9);
    close(fit.coefficients[0]!, Math.log(60 / 40) - Math.log(30 / 70), 1e-9);
    close(fit.interceptStdError, Math.sqrt(1 / 30 + 1 / 70), 1e-9);
    close(fit.stdErrors[0]!, Math.sqrt(1 / 30 + 1 / 70 + 1 / 60 + 1 / 40), 1e-9);
    assert.ok(fit.iterations < 15);
  });

  it('shrinks slopes toward zero as the L2 penalty grows, and never the intercept alone', () => {
    const { x, y } = twoByTwo();
    const slopes = [0, 10, 100, 1e6].map((l2) => fitLogistic(x, y, { l2 }).coefficients[0]!);
    for (let i = 1; i < slopes.length; i++) assert.ok(slopes[i]! < slopes[i - 1]!);
    const flat = fitLogistic(x, y, { l2: 1e6 });
    // With the slope penalised away the intercept is the overall log-odds, 90 bad of 200.
    close(flat.intercept, Math.log(90 / 110), 1e-3);
  });

  it('stays finite on perfectly separated data when penalised', () => {
    const x = [[-2], [-1], [1], [2]];
    const fit = fitLogistic(x, [0, 0, 1, 1], { l2: 1 });
    assert.ok(Number.isFinite(fit.coefficients[0]!) && fit.coefficients[0]! > 0);
    assert.ok(fit.converged);
  });

  it('fits binned features to the same bits as the same design written out in full', () => {
    // More rows than one block, three features of a few bins each, a WoE-like value per bin.
    const random = mulberry32(3);
    const n = DESIGN_BLOCK_ROWS * 2 + 37;
    const valueOfBin = [3, 5, 2].map((k) => Float64Array.from({ length: k }, () => random() * 2 - 1));
    const binOfRow = valueOfBin.map((v) =>
      Int32Array.from({ length: n }, () => Math.floor(random() * v.length)),
    );
    const y = Array.from({ length: n }, (_, i) => (random() < 0.2 + 0.1 * binOfRow[0]![i]! ? 1 : 0));
    const x = Array.from({ length: n }, (_, i) => valueOfBin.map((v, j) => v[binOfRow[j]![i]!]!));
    assert.deepEqual(fitLogisticBinned(binOfRow, valueOfBin, y, { l2: 3 }), fitLogistic(x, y, { l2: 3 }));
  });

  it('does not halve a step already under the tolerance: a large fit converges in one pass per step', () => {
    // Near the optimum of a sum over many rows, the objective of a tiny step differs from the last
    // by rounding; halving for it once took up to 30 passes more per fit.
    const random = mulberry32(2);
    const n = 50_000;
    const valueOfBin = [8, 8, 6, 5, 8, 8, 8, 8].map((k) =>
      Float64Array.from({ length: k }, () => random() * 3 - 1.5),
    );
    const binOfRow = valueOfBin.map((v) =>
      Uint8Array.from({ length: n }, () => Math.floor(random() * v.length)),
    );
    const y = Uint8Array.from({ length: n }, (_, i) => {
      const eta = -1.5 + valueOfBin.reduce((s, v, j) => s - 0.3 * v[binOfRow[j]![i]!]!, 0);
      return random() < 1 / (1 + Math.exp(-eta)) ? 1 : 0;
    });
    const fit = fitLogisticBinned(binOfRow, valueOfBin, y, { l2: 1 });
    assert.ok(fit.converged);
    // the first point and one trial per Newton step (this fit took 12 passes for 5 steps before)
    assert.equal(fit.passes, fit.iterations + 1);
  });
});

describe('logistic regression on bin indicators (per-bin coding)', () => {
  /** Two features of 3 and 2 bins: row i is in bin i % 3 of the first and (i >> 1) % 2 of the second. */
  function design(n: number): { active: Int32Array; dense: number[][]; y: number[] } {
    const active = new Int32Array(n * 2);
    const dense: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      const a = i % 3;
      const b = 3 + ((i >> 1) % 2);
      active[i * 2] = a;
      active[i * 2 + 1] = b;
      const row = [0, 0, 0, 0, 0];
      row[a] = 1;
      row[b] = 1;
      dense.push(row);
      // a risk pattern the bins carry, plus a deterministic scatter
      y.push((a === 2 ? 3 : 1) + b + ((i * 7) % 5) > 6 ? 1 : 0);
    }
    return { active, dense, y };
  }

  it('gives the same weights and standard errors as the dense fit of the same 0/1 columns', () => {
    const { active, dense, y } = design(300);
    const sparse = fitLogisticIndicators({ active, k: 2, columns: 5 }, y, { l2: 2 });
    const full = fitLogistic(dense, y, { l2: 2 });
    close(sparse.intercept, full.intercept, 1e-9);
    for (const [j, c] of sparse.coefficients.entries()) close(c, full.coefficients[j]!, 1e-9);
    for (const [j, se] of sparse.stdErrors.entries()) close(se, full.stdErrors[j]!, 1e-9);
    close(sparse.logLikelihood, full.logLikelihood, 1e-9);
  });

  it('refuses a column index outside the design and a zero penalty', () => {
    const { active, y } = design(30);
    assert.throws(() => fitLogisticIndicators({ active, k: 2, columns: 4 }, y, { l2: 1 }), /out of range/);
    assert.throws(() => fitLogisticIndicators({ active, k: 2, columns: 5 }, y, { l2: 0 }), /L2/);
  });
});
