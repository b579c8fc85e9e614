import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GERMAN_CREDIT_CSV } from '../../src/paths.ts';
import { parseCsv, toDataset } from '../../src/risk/model/csv.ts';
import {
  buildScorecard,
  gradeCuts,
  gradeOf,
  scalingConstants,
  scoreRow,
} from '../../src/risk/model/scorecard.ts';
import { parseModel, train } from '../../src/risk/model/train.ts';
import { readCsvFile } from '../../src/risk/service/csv-file.ts';

const close = (actual: number, expected: number, eps = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= eps, `${actual} is not within ${eps} of ${expected}`);

describe('PDO scaling', () => {
  it('gives base points at the base odds and adds PDO points each time the odds double', () => {
    // factor = 20 / ln 2 = 28.8539; offset = 600 - 28.8539 * ln 50 = 487.1229
    const { factor, offset } = scalingConstants({ basePoints: 600, baseOdds: 50, pdo: 20 });
    close(factor, 28.85390081777927);
    close(offset, 487.1228762045055);
    // An intercept-only model: ln(odds of bad) = b0, so odds of good = e^-b0.
    const atBase = buildScorecard([], -Math.log(50), 0);
    const doubled = buildScorecard([], -Math.log(100), 0);
    assert.equal(scoreRow(atBase, {}).score, 600);
    assert.equal(scoreRow(doubled, {}).score, 620);
    close(scoreRow(atBase, {}).pdBad, 1 / 51, 1e-12);
  });

  it('grades the safest fifth A and the riskiest fifth E', () => {
    const scores = Array.from({ length: 100 }, (_, i) => 400 + i);
    const card = { grades: gradeCuts(scores) };
    assert.equal(gradeOf(card, 499), 'A');
    assert.equal(gradeOf(card, 480), 'A');
    assert.equal(gradeOf(card, 479), 'B');
    assert.equal(gradeOf(card, 400), 'E');
    assert.equal(gradeOf(card, -1e9), 'E');
  });
});

describe('scoring with a trained scorecard', () => {
  const data = toDataset(readCsvFile(GERMAN_CREDIT_CSV));
  const { model } = train(data, { target: 'credit_risk', badValue: '0', folds: 0 });
  const row: Record<string, string> = {};
  const table = readCsvFile(GERMAN_CREDIT_CSV);
  table.header.forEach((name, c) => {
    row[name] = table.rows[1]![c]!;
  });

  it('sums base points and one line per feature into the score', () => {
    const result = scoreRow(model, row);
    const sum = Object.values(result.points).reduce((s, p) => s + p, model.basePoints);
    assert.equal(result.score, sum);
    assert.equal(Object.keys(result.points).length, model.features.length);
  });

  it('ranks reason codes by points lost against each feature’s best bin', () => {
    const result = scoreRow(model, row);
    assert.ok(result.reasons.length > 0 && result.reasons.length <= 4);
    for (const reason of result.reasons) {
      const feature = model.features.find((f) => f.name === reason.feature)!;
      const best = Math.max(...feature.bins.filter((b) => b.count > 0).map((b) => b.points));
      assert.equal(reason.shortfall, best - result.points[reason.feature]!);
    }
    for (let i = 1; i < result.reasons.length; i++) {
      assert.ok(result.reasons[i - 1]!.shortfall >= result.reasons[i]!.shortfall);
    }
  });

  it('gives identical score, points and reasons when the same row is scored twice', () => {
    assert.deepEqual(scoreRow(model, row), scoreRow(model, { ...row }));
  });

  it('scores identically from the model after a JSON round trip, as a stored decision is replayed', () => {
    const reloaded = parseModel(JSON.parse(JSON.stringify(model)));
    for (let r = 0; r < 50; r++) {
      const record: Record<string, string> = {};
      table.header.forEach((name, c) => {
        record[name] = table.rows[r]![c]!;
      });
      assert.deepEqual(scoreRow(reloaded, record), scoreRow(model, record));
    }
  });

  it('scores a missing value in its missing bin and an unseen category in the pooled group', () => {
    const result = scoreRow(model, { ...row, status: '', purpose: 'a purpose nobody had' });
    const status = model.features.find((f) => f.name === 'status')!;
    assert.equal(result.bins.status, status.bins[status.missingBin]!.label);
    assert.ok(Number.isFinite(result.score));
  });

  it('keeps points in whole numbers and puts every grade in use on the training rows', () => {
    for (const f of model.features) for (const b of f.bins) assert.ok(Number.isInteger(b.points));
    assert.equal(model.grades.length, 5);
    assert.deepEqual(
      model.grades.map((g) => g.grade),
      ['A', 'B', 'C', 'D', 'E'],
    );
  });
});

describe('per-bin coding', () => {
  /** One categorical feature: A 40 good / 10 bad, B 30 / 20, C 20 / 30; target "bad" 1. */
  function threeCategories(): string {
    const lines = ['grade,bad'];
    for (const [cat, goods, bads] of [
      ['A', 40, 10],
      ['B', 30, 20],
      ['C', 20, 30],
    ] as const) {
      for (let i = 0; i < goods; i++) lines.push(`${cat},0`);
      for (let i = 0; i < bads; i++) lines.push(`${cat},1`);
    }
    return `${lines.join('\n')}\n`;
  }

  it('weights each bin by its own log-odds, centred, and reads as a WoE weight of -1 (hand-computed)', () => {
    const data = toDataset(parseCsv(threeCategories()));
    const { model } = train(data, {
      target: 'bad',
      badValue: '1',
      folds: 0,
      complexity: 'fixed',
      coding: 'bins',
      l2: 1e-6,
      smoothing: 0,
    });
    const f = model.features[0]!;
    assert.equal(f.coding, 'bins');
    // ln(bads/goods) per bin: ln(10/40), ln(20/30), ln(30/20); centred on their mean -0.46210
    const expected: Record<string, number> = { A: -0.924196, B: 0.056633, C: 0.867563 };
    const expectedPoints: Record<string, number> = { A: 27, B: -2, C: -25 };
    f.bins.forEach((bin, b) => {
      if (bin.count === 0) return;
      // the empty pool of rare categories may share a bin: name it by its one real category
      const category = bin.categories![0]!;
      close(f.binWeights![b]!, expected[category]!, 1e-4);
      assert.equal(bin.points, expectedPoints[category]);
    });
    close(f.coefficient, -1, 1e-4);
    // odds of good 4:1, 3:2, 2:3 -> 487.12 + 28.854 ln(odds): 527.12, 498.82, 475.42
    assert.deepEqual(
      ['A', 'B', 'C'].map((grade) => scoreRow(model, { grade }).score),
      [527, 498, 475],
    );
  });

  it('scores like WoE coding when one feature is all there is (the bins only move by a constant)', () => {
    const data = toDataset(parseCsv(threeCategories()));
    const scores = (coding: 'woe' | 'bins') => {
      const { model } = train(data, {
        target: 'bad',
        badValue: '1',
        folds: 0,
        complexity: 'fixed',
        coding,
        l2: 1e-6,
        smoothing: 0,
      });
      return ['A', 'B', 'C'].map((grade) => scoreRow(model, { grade }).score);
    };
    const woe = scores('woe');
    // each line and the base are rounded on their own: one point apart at most
    for (const [i, s] of scores('bins').entries()) assert.ok(Math.abs(s - woe[i]!) <= 1, `${s} vs ${woe[i]}`);
  });
});
