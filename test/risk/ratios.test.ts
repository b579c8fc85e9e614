import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BOOST, fitBoosted } from '../../src/risk/model/boost.ts';
import type { Dataset } from '../../src/risk/model/csv.ts';
import { mulberry32 } from '../../src/risk/model/cv.ts';
import { fitScorecard, SUPPRESSOR_PROBE_MAX_ROWS } from '../../src/risk/model/fit.ts';
import { auc } from '../../src/risk/model/metrics.ts';
import { ratioOfRow, ratioValue } from '../../src/risk/model/ratios.ts';
import { scoreRow } from '../../src/risk/model/scorecard.ts';
import { DEFAULT_TRAIN, prepareColumns, scoreRows } from '../../src/risk/model/train.ts';

/**
 * Risk rises with utilisation (balance / limit) and falls with the limit, so that on its own a big
 * balance looks safe (it comes with a big limit): the balance is a suppressor given the limit.
 */
function utilisationData(rows: number, seed: number): { data: Dataset; y: Uint8Array } {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const limit = new Float64Array(rows);
  const balance = new Float64Array(rows);
  const noise = new Float64Array(rows);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const lnLimit = 0.8 * normal();
    const lnUtil = -1 + 0.5 * normal();
    limit[i] = Math.round(10_000 * Math.exp(lnLimit));
    balance[i] = Math.round(limit[i]! * Math.exp(lnUtil));
    noise[i] = normal();
    const logit = -1 + 2 * (lnUtil + 1) - 1.2 * lnLimit;
    y[i] = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  const columns = [
    { name: 'balance', kind: 'numeric' as const, values: balance },
    { name: 'limit', kind: 'numeric' as const, values: limit },
    { name: 'noise', kind: 'numeric' as const, values: noise },
  ];
  return { data: { columns, rowCount: rows }, y };
}

describe('ratio features for suppressor pairs', () => {
  it('defines a ratio only for present, non-special parts over a positive denominator', () => {
    assert.equal(ratioValue(500, 1000, []), 0.5);
    assert.equal(ratioValue(-50, 1000, []), -0.05);
    assert.equal(ratioValue(500, 0, []), null);
    assert.equal(ratioValue(500, -10, []), null);
    assert.equal(ratioValue(null, 1000, []), null);
    assert.equal(ratioValue(500, Number.NaN, []), null);
    assert.equal(ratioValue(-999, 1000, [-999]), null);
    const def = { numerator: 'balance', denominator: 'limit', specialValues: [] };
    assert.equal(ratioOfRow(def, { balance: ' 300', limit: '1200' }), 0.25);
    assert.equal(ratioOfRow(def, { balance: 'nan', limit: '1200' }), null);
    assert.equal(ratioOfRow(def, { balance: 300 }), null);
  });

  const { data, y } = utilisationData(3000, 11);
  const rows = Array.from({ length: 3000 }, (_, i) => i);
  const learn = rows.slice(0, 2000);
  const test = rows.slice(2000);
  const prepared = prepareColumns(data.columns, DEFAULT_TRAIN.binning, rows);
  const opts = { ...DEFAULT_TRAIN, l2: 1 };
  const heldOut = (ratios: boolean) => {
    const fitted = fitScorecard(prepared, y, learn, { ...opts, ratios });
    const scores = Array.from(scoreRows(fitted.card, prepared, test));
    return {
      fitted,
      auc: auc(
        scores,
        test.map((r) => y[r] === 0),
      ),
    };
  };
  const without = heldOut(false);
  const withRatios = heldOut(true);

  it('offers balance / limit when the balance is reversed given the limit, and it raises held-out AUC', () => {
    const balance = without.fitted.screening.find((s) => s.feature === 'balance')!;
    assert.equal(balance.partner, 'limit');
    assert.equal(without.fitted.ratiosOffered, 0);
    const ratio = withRatios.fitted.card.features.find((f) => f.name === 'balance/limit');
    assert.ok(ratio, 'the ratio is in the model');
    assert.deepEqual(ratio.ratio, { numerator: 'balance', denominator: 'limit', specialValues: [] });
    assert.ok(ratio.coefficient < 0, 'utilisation is read the normal way round');
    assert.match(withRatios.fitted.screening.find((s) => s.feature === 'balance/limit')!.note, /ratio of/);
    assert.ok(withRatios.auc > without.auc + 0.01, `${withRatios.auc} vs ${without.auc}`);
  });

  it('looks for suppressors on a sample above SUPPRESSOR_PROBE_MAX_ROWS and still offers the ratio', () => {
    const rowCount = SUPPRESSOR_PROBE_MAX_ROWS + 10_000;
    const big = utilisationData(rowCount, 3);
    const all = Array.from({ length: rowCount }, (_, i) => i);
    const columns = prepareColumns(big.data.columns, DEFAULT_TRAIN.binning, all);
    const fitted = fitScorecard(columns, big.y, all, { ...opts, ratios: true });
    assert.ok(fitted.card.features.some((f) => f.name === 'balance/limit'));
    assert.equal(fitted.screening.find((s) => s.feature === 'balance')!.partner, 'limit');
  });

  it('scores a row from its raw cells as the training columns do, a zero limit as missing', () => {
    const card = withRatios.fitted.card;
    const columnar = scoreRows(card, prepared, test.slice(0, 50));
    test.slice(0, 50).forEach((r, i) => {
      const row = { balance: String(data.columns[0]!.values[r]), limit: String(data.columns[1]!.values[r]) };
      assert.equal(scoreRow(card, { ...row, noise: data.columns[2]!.values[r] }).score, columnar[i]);
    });
    const feature = card.features.find((f) => f.ratio)!;
    const missing = scoreRow(card, { balance: '100', limit: '0', noise: 0 });
    assert.equal(missing.bins[feature.name], feature.bins[feature.missingBin]!.label);
  });
});

describe('the boosted model guided by the WoE fit', () => {
  const { data, y } = utilisationData(2000, 5);
  const rows = Array.from({ length: 2000 }, (_, i) => i);
  const prepared = prepareColumns(data.columns, DEFAULT_TRAIN.binning, rows);
  const opts = { ...DEFAULT_TRAIN, boost: { ...DEFAULT_BOOST, maxRounds: 300 } };
  const boosted = fitBoosted(prepared, y, rows, opts, 1);

  it('splits on the ratio the WoE fit offered, and leaves the suppressor free of its univariate trend', () => {
    const ratio = boosted.card.features.find((f) => f.name === 'balance/limit');
    assert.ok(ratio?.ratio, 'the boosted model uses balance / limit');
    assert.match(boosted.screening.find((s) => s.feature === 'balance')!.note, /stumps$|no stump/);
    const withoutRatios = fitBoosted(prepared, y, rows, { ...opts, ratios: false }, 1);
    assert.equal(
      withoutRatios.card.features.find((f) => f.name === 'balance/limit'),
      undefined,
    );
    // Alone a bigger balance looks safer; given the limit it is riskier, and the booster may say so.
    const balance = withoutRatios.card.features.find((f) => f.name === 'balance');
    assert.ok(balance, 'the suppressor takes stumps');
    const values = balance.bins.filter((b) => !b.missing && b.special === undefined);
    assert.ok(values[0]!.points > values.at(-1)!.points, JSON.stringify(values.map((b) => b.points)));
  });
});
