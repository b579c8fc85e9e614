import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCsv, parseCsv, toDataset } from '../../src/risk/model/csv.ts';
import { mulberry32 } from '../../src/risk/model/cv.ts';
import { scoreRow } from '../../src/risk/model/scorecard.ts';
import { parseModel, scoreRows, train } from '../../src/risk/model/train.ts';

/**
 * Planted additive risk: a step in `step` (riskier above 60), a U in `u` (riskier far from 50),
 * categories of `kind` with their own risk, and `noise` that carries none.
 */
function plantedCsv(rows: number, seed: number): string {
  const random = mulberry32(seed);
  const kinds = { a: -0.6, b: 0, c: 0.8 } as const;
  const out: (string | number)[][] = [];
  for (let i = 0; i < rows; i++) {
    const step = Math.round(random() * 100);
    const u = Math.round(random() * 100);
    const kind = (['a', 'b', 'c'] as const)[Math.floor(random() * 3)]!;
    const noise = Math.round(random() * 1000);
    const logit = -1.2 + (step > 60 ? 1.6 : 0) + 1.8 * ((u - 50) / 50) ** 2 + kinds[kind];
    const bad = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    out.push([step, u, kind, noise, bad]);
  }
  return formatCsv(['step', 'u', 'kind', 'noise', 'bad'], out);
}

describe('the boosted additive model', () => {
  const data = toDataset(parseCsv(plantedCsv(3000, 11)));
  const { model } = train(data, { target: 'bad', badValue: '1', folds: 0, model: 'boosted' });
  const feature = (name: string) => model.features.find((f) => f.name === name)!;
  const valuePoints = (name: string) =>
    feature(name)
      .bins.filter((b) => !b.missing && b.special === undefined)
      .map((b) => ({
        lower: b.lower ?? Number.NEGATIVE_INFINITY,
        upper: b.upper ?? Number.POSITIVE_INFINITY,
        points: b.points,
      }));

  it('is a points table of fine bins whose weights come from stumps, with the rounds chosen by inner CV', () => {
    assert.equal(model.modelType, 'boosted');
    for (const f of model.features) {
      assert.equal(f.coding, 'boosted');
      assert.equal(f.binWeights!.length, f.bins.length);
      for (const b of f.bins) assert.ok(Number.isInteger(b.points));
    }
    assert.ok(valuePoints('step').length > 6, 'numeric features keep their fine bins');
    const rounds = model.complexity!.rounds!;
    assert.ok(rounds > 0 && rounds <= 1000 && rounds % 10 === 0, `rounds ${rounds}`);
  });

  it('recovers the planted step: bins above 60 are worth fewer points than bins below, trend kept', () => {
    const bins = valuePoints('step');
    const below = bins.filter((b) => b.upper <= 61).map((b) => b.points);
    const above = bins.filter((b) => b.lower >= 60).map((b) => b.points);
    assert.ok(Math.min(...below) - Math.max(...above) >= 20, JSON.stringify(bins));
    // risk rises with step, so under the monotone constraint points never rise along its bins
    for (const [i, b] of bins.slice(1).entries())
      assert.ok(b.points <= bins[i]!.points, JSON.stringify(bins));
  });

  it('keeps the U shape it is not constrained against: the middle of u scores above both ends', () => {
    const bins = valuePoints('u');
    const middle = bins.find((b) => b.lower <= 50 && b.upper > 50)!.points;
    assert.ok(middle > bins[0]!.points + 10 && middle > bins.at(-1)!.points + 10, JSON.stringify(bins));
  });

  it('orders the categories by their planted risk', () => {
    const points = (c: string) => scoreRow(model, { step: 30, u: 50, kind: c, noise: 500 }).points.kind!;
    assert.ok(points('a') > points('b') && points('b') > points('c'));
  });

  it('scores a row as base plus its lines, explains it by per-feature shortfalls, and survives a JSON round trip', () => {
    const row = { step: 80, u: 5, kind: 'c', noise: 10 };
    const scored = scoreRow(model, row);
    const lines = Object.values(scored.points).reduce((s, p) => s + p, 0);
    assert.equal(scored.score, model.basePoints + lines);
    assert.ok(scored.reasons.length > 0);
    for (const r of scored.reasons) {
      const best = Math.max(
        ...feature(r.feature)
          .bins.filter((b) => b.count > 0)
          .map((b) => b.points),
      );
      assert.equal(r.shortfall, best - r.points);
    }
    const replayed = parseModel(JSON.parse(JSON.stringify(model)));
    assert.deepEqual(scoreRow(replayed, row), scored);
  });

  it('scores the training columns as the row scorer does', () => {
    const features = data.columns.map((column) => ({ column, sorted: null, codes: null }));
    const rows = [0, 1, 2, 3, 4];
    const fast = Array.from(scoreRows(model, features, rows));
    const slow = rows.map(
      (r) =>
        scoreRow(model, Object.fromEntries(data.columns.map((c) => [c.name, c.values[r] ?? null]))).score,
    );
    assert.deepEqual(fast, slow);
  });
});
