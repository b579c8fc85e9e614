import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BINNING } from '../../src/risk/model/binning.ts';
import { parseCsv, toDataset } from '../../src/risk/model/csv.ts';
import { buildScorecard, scoreRow } from '../../src/risk/model/scorecard.ts';
import { train } from '../../src/risk/model/train.ts';
import { creditDefaultCsv, PAY_AMT_NOT_REPORTED } from './credit-default-synthetic.ts';

describe('NA tokens', () => {
  it('keeps a numeric column numeric when it holds stray "nan", "NA", "null" and "?" cells', () => {
    const data = toDataset(parseCsv('a,b\n1,x\nnan,y\nNA,z\n?,w\nnull,v\n2.5,u\n'));
    assert.equal(data.columns[0]!.kind, 'numeric');
    assert.deepEqual(data.columns[0]!.values, [1, null, null, null, null, 2.5]);
  });

  it('reads only the configured tokens as missing', () => {
    const data = toDataset(parseCsv('a\n1\n-\nnan\n'), { naTokens: ['-'] });
    assert.equal(data.columns[0]!.kind, 'categorical');
    const dashOnly = toDataset(parseCsv('a,b\n1,x\n-,y\n,z\n'), { naTokens: ['-'] });
    assert.deepEqual(dashOnly.columns[0]!.values, [1, null, null]);
  });

  it('reads an NA token as missing in a categorical column at scoring time too', () => {
    const { model } = train(toDataset(parseCsv(creditDefaultCsv(3000, 1))), {
      target: 'default',
      badValue: '1',
      exclude: ['ID'],
      folds: 0,
    });
    const age = model.features.find((f) => f.name === 'AGE')!;
    const row = { AGE: 'nan' };
    assert.equal(scoreRow(model, row).bins.AGE, age.bins[age.missingBin]!.label);
  });
});

describe('missing-value policy at scoring', () => {
  // One numeric feature with two bins and no missing values in training.
  const binning = {
    name: 'x',
    type: 'numeric' as const,
    cuts: [10],
    missingBin: 2,
    unseenBin: 2,
    bins: [
      {
        label: '< 10',
        lower: null,
        upper: 10,
        categories: null,
        missing: false,
        other: false,
        count: 50,
        good: 30,
        bad: 20,
      },
      {
        label: '>= 10',
        lower: 10,
        upper: null,
        categories: null,
        missing: false,
        other: false,
        count: 50,
        good: 45,
        bad: 5,
      },
      {
        label: 'missing',
        lower: null,
        upper: null,
        categories: null,
        missing: true,
        other: false,
        count: 0,
        good: 0,
        bad: 0,
      },
    ],
  };
  const woe = [-0.8, 1.2, 0];
  const feature = { binning, woe, iv: 0.5, coefficient: -1, stdError: 0.1 };

  it('scores a blank like the worst bin when training had no blanks, never above it', () => {
    const card = buildScorecard([feature], -1, 0.1);
    const blank = scoreRow(card, { x: '' }).score;
    const worst = scoreRow(card, { x: 1 }).score;
    assert.equal(blank, worst);
    assert.equal(card.features[0]!.missingScoredAs, 'worst');
  });

  it('keeps the neutral WoE of models before v2 under the neutral policy', () => {
    const card = buildScorecard([feature], -1, 0.1, undefined, 'neutral');
    assert.ok(scoreRow(card, { x: '' }).score > scoreRow(card, { x: 1 }).score);
    assert.equal(card.features[0]!.missingScoredAs, 'neutral');
  });

  it('uses the trained missing bin when training had blanks, and the worst under policy worst', () => {
    const trained = structuredClone(binning);
    trained.bins[2] = { ...trained.bins[2]!, count: 10, good: 9, bad: 1 };
    const withBlanks = { ...feature, binning: trained, woe: [-0.8, 1.2, 1.5] };
    const card = buildScorecard([withBlanks], -1, 0.1);
    assert.equal(card.features[0]!.missingScoredAs, 'trained');
    assert.ok(scoreRow(card, { x: '' }).score > scoreRow(card, { x: 20 }).score);
    const strict = buildScorecard([withBlanks], -1, 0.1, undefined, 'worst');
    assert.equal(scoreRow(strict, { x: '' }).score, scoreRow(strict, { x: 1 }).score);
  });
});

describe('the synthetic credit-default set: planted shapes are recovered', () => {
  const data = toDataset(parseCsv(creditDefaultCsv(12_000, 7)));
  const { model } = train(data, {
    target: 'default',
    badValue: '1',
    exclude: ['ID'],
    folds: 0,
    binning: {
      ...DEFAULT_BINNING,
      specialValues: [PAY_AMT_NOT_REPORTED],
    },
  });
  const feature = (name: string) => model.features.find((f) => f.name === name)!;

  it('reads every column with stray tokens as numeric, the tokens as missing', () => {
    for (const name of ['AGE', 'BILL_AMT2', 'PAY_AMT1']) {
      assert.equal(data.columns.find((c) => c.name === name)!.kind, 'numeric', name);
    }
    assert.ok(feature('AGE').bins[feature('AGE').missingBin]!.count > 0);
  });

  it('bins the status codes as categories, with -1 safer than both -2 and 1', () => {
    const pay0 = feature('PAY_0');
    assert.equal(pay0.coded, true);
    const binOf = (code: number) => pay0.bins.find((b) => b.categories?.includes(String(code)))!;
    const rate = (code: number) => binOf(code).bad / binOf(code).count;
    assert.ok(rate(-1) < rate(-2), 'paid in full is safer than no consumption');
    assert.ok(rate(-1) < rate(1));
    assert.ok(rate(1) < rate(2));
  });

  it('finds the U shape of age as a valley', () => {
    assert.equal(feature('AGE').shape, 'valley');
  });

  it('gives the special code its own bin, the riskiest of its feature', () => {
    const pay = feature('PAY_AMT1');
    const special = pay.bins.find((b) => b.special === PAY_AMT_NOT_REPORTED)!;
    const rate = (b: { bad: number; count: number }) => b.bad / b.count;
    for (const b of pay.bins) if (b !== special && b.count > 0) assert.ok(rate(special) > rate(b), b.label);
  });

  it('keeps the suppressor: the bill is reversed given the limit, and listed as a ratio candidate', () => {
    const bill = model.screening.find((s) => s.feature === 'BILL_AMT1')!;
    assert.ok(bill.selected);
    assert.equal(bill.partner, 'LIMIT_BAL');
    assert.match(bill.note, /suppressor/);
  });
});
