import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitLogistic } from '../../src/risk/model/logistic.ts';

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
});
