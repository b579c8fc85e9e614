import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { woeTable } from '../../src/risk/model/woe.ts';

const close = (actual: number, expected: number, eps = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= eps, `${actual} is not within ${eps} of ${expected}`);

describe('weight of evidence and information value', () => {
  it('matches the textbook values without smoothing', () => {
    // goods 40 | 30 of 70, bads 10 | 20 of 30.
    // WoE1 = ln((40/70) / (10/30)) = ln(1.714286) = 0.5389965
    // WoE2 = ln((30/70) / (20/30)) = ln(0.642857) = -0.4418328
    // IV = (40/70 - 10/30) * 0.5389965 + (30/70 - 20/30) * -0.4418328 = 0.1283325 + 0.1051983
    const { woe, iv, ivPerBin } = woeTable(
      [
        { good: 40, bad: 10 },
        { good: 30, bad: 20 },
      ],
      0,
    );
    close(woe[0]!, 0.5389965007326869);
    close(woe[1]!, -0.4418327522790392);
    close(iv, 0.23353077452660143);
    close(ivPerBin[0]! + ivPerBin[1]!, iv);
  });

  it('keeps WoE finite for a bin with no bads by adding half an observation per cell', () => {
    // goods 5 | 0, bads 0 | 5, smoothing 0.5, two bins: totals 5 + 2 * 0.5 = 6 each.
    // WoE1 = ln((5.5/6) / (0.5/6)) = ln 11, WoE2 = -ln 11, IV = 2 * (5/6) * ln 11
    const { woe, iv } = woeTable([
      { good: 5, bad: 0 },
      { good: 0, bad: 5 },
    ]);
    close(woe[0]!, Math.log(11));
    close(woe[1]!, -Math.log(11));
    close(iv, 3.996492121330618);
  });

  it('gives an empty bin WoE 0 and leaves it out of the totals', () => {
    const withEmpty = woeTable(
      [
        { good: 40, bad: 10 },
        { good: 30, bad: 20 },
        { good: 0, bad: 0 },
      ],
      0.5,
    );
    const without = woeTable(
      [
        { good: 40, bad: 10 },
        { good: 30, bad: 20 },
      ],
      0.5,
    );
    assert.equal(withEmpty.woe[2], 0);
    close(withEmpty.iv, without.iv);
  });

  it('is zero for a feature whose bins all have the population bad rate', () => {
    const { iv, woe } = woeTable(
      [
        { good: 70, bad: 30 },
        { good: 7, bad: 3 },
      ],
      0,
    );
    close(iv, 0);
    close(woe[0]!, 0);
  });
});
