import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assignBin,
  assignBins,
  assignCodedBins,
  binCategorical,
  binCoded,
  binNumeric,
  DEFAULT_BINNING,
  sortedPresentRows,
} from '../../src/risk/model/binning.ts';
import { mulberry32 } from '../../src/risk/model/cv.ts';
import { codesOf } from '../../src/risk/model/fit.ts';

const all = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('numeric binning', () => {
  // Bad rate rises with x in three steps, plus noise.
  const random = mulberry32(1);
  const n = 2000;
  const x: (number | null)[] = all(n).map((i) => (i % 20 === 0 ? null : Math.floor(random() * 100)));
  const y = Uint8Array.from(x, (v) => {
    const rate = v === null ? 0.5 : v < 30 ? 0.1 : v < 70 ? 0.25 : 0.45;
    return random() < rate ? 1 : 0;
  });

  it('finds cuts near the true steps and keeps missing values in a bin of their own', () => {
    const f = binNumeric('x', x, y, all(n), { ...DEFAULT_BINNING, maxBins: 3 });
    assert.equal(f.cuts.length, 2);
    assert.ok(Math.abs(f.cuts[0]! - 30) <= 4, `first cut ${f.cuts[0]}`);
    assert.ok(Math.abs(f.cuts[1]! - 70) <= 4, `second cut ${f.cuts[1]}`);
    const missing = f.bins[f.missingBin]!;
    assert.ok(missing.missing);
    assert.equal(missing.count, 100);
    assert.equal(assignBin(f, null), f.missingBin);
    assert.equal(assignBin(f, -1e9), 0);
    assert.equal(assignBin(f, 1e9), f.missingBin - 1);
  });

  it('never makes a bin smaller than the minimum share of rows', () => {
    const f = binNumeric('x', x, y, all(n), {
      ...DEFAULT_BINNING,
      maxBins: 20,
      minBinShare: 0.1,
      monotonic: 'none',
    });
    for (const bin of f.bins.filter((b) => !b.missing))
      assert.ok(bin.count >= 200, `${bin.label}: ${bin.count}`);
  });

  it('merges neighbours until the bad rate moves one way when monotonic is asked for', () => {
    // A bad rate that zigzags in x: a tree follows the zigzag, a monotonic binning may not.
    const zig = all(3000).map((i) => i % 100);
    const yz = Uint8Array.from(zig, (v) =>
      random() < (Math.floor(v / 20) % 2 === 0 ? 0.1 : 0.3) + v / 500 ? 1 : 0,
    );
    const free = binNumeric('z', zig, yz, all(3000), { ...DEFAULT_BINNING, monotonic: 'none' });
    const rates = (bins: typeof free.bins): number[] =>
      bins.filter((b) => !b.missing).map((b) => b.bad / b.count);
    const freeRates = rates(free.bins);
    assert.ok(
      freeRates.some((r, i) => i > 0 && r < freeRates[i - 1]!),
      'the unconstrained tree should zigzag',
    );
    const mono = binNumeric('z', zig, yz, all(3000), { ...DEFAULT_BINNING, monotonic: 'auto' });
    const monoRates = rates(mono.bins);
    for (let i = 1; i < monoRates.length; i++) assert.ok(monoRates[i]! >= monoRates[i - 1]!);
  });
});

describe('categorical binning', () => {
  const values: (string | null)[] = [];
  const y: number[] = [];
  const add = (v: string | null, count: number, bads: number): void => {
    for (let i = 0; i < count; i++) {
      values.push(v);
      y.push(i < bads ? 1 : 0);
    }
  };
  add('a', 400, 40);
  add('b', 400, 44);
  add('c', 300, 150);
  add('rare1', 5, 5);
  add('rare2', 5, 0);
  add(null, 50, 10);
  const labels = Uint8Array.from(y);

  it('pools rare categories, groups similar ones and keeps missing apart', () => {
    const opts = { ...DEFAULT_BINNING, minSplitChiSquare: 3.84 };
    const f = binCategorical('k', values, labels, all(values.length), opts);
    const binOf = (v: string | null): number => assignBin(f, v);
    assert.equal(binOf('a'), binOf('b'), 'a and b have nearly the same bad rate');
    assert.notEqual(binOf('a'), binOf('c'));
    assert.equal(binOf('rare1'), binOf('rare2'), 'rare categories share the pooled group');
    assert.equal(binOf(null), f.missingBin);
    assert.equal(f.bins[f.missingBin]!.count, 50);
  });

  it('sends a category never seen in training to the pooled rare group', () => {
    const f = binCategorical('k', values, labels, all(values.length), DEFAULT_BINNING);
    assert.equal(assignBin(f, 'never seen'), assignBin(f, 'rare1'));
    assert.ok(f.bins[f.unseenBin]!.other);
  });
});

describe('bins of many rows at once', () => {
  it('gives every row the bin assignBin gives it, specials, unseen specials and stray types included', () => {
    const values: (number | null)[] = [1, 5, 50, 99, null, -999, -888, 7.5, 30, 70, 1e9, -1e9];
    const y = Uint8Array.from(values, (_, i) => (i % 3 === 0 ? 1 : 0));
    const rows = values.map((_, i) => i);
    const opts = { ...DEFAULT_BINNING, specialValues: [-999, -888, -777], minBinShare: 0.1 };
    const f = binNumeric('x', values, y, rows, opts);
    const odd: (number | string | null)[] = [...values, Number.NaN, 'text', -777];
    const oddRows = odd.map((_, i) => i);
    assert.deepEqual(
      Array.from(assignBins(f, odd, oddRows)),
      oddRows.map((r) => assignBin(f, odd[r]!)),
    );
    const cats = ['a', 'b', null, 'c', 'a', 'zz'];
    const g = binCategorical('c', cats, Uint8Array.from([1, 0, 0, 1, 0, 1]), [0, 1, 2, 3, 4]);
    const all6 = cats.map((_, i) => i);
    assert.deepEqual(
      Array.from(assignBins(g, cats, all6)),
      all6.map((r) => assignBin(g, cats[r]!)),
    );
  });
});

describe('integer codes read as codes', () => {
  it('a one-byte codes view bins and assigns exactly as the codes as text do, missing and rare codes included', () => {
    const random = mulberry32(3);
    const values = Float64Array.from({ length: 3000 }, (_, i) =>
      i % 41 === 0 ? Number.NaN : i % 199 === 0 ? 8 : Math.floor(random() * 5) - 2,
    );
    const y = Uint8Array.from(values, (v) => (random() < (v === -2 ? 0.4 : v === 0 ? 0.1 : 0.25) ? 1 : 0));
    const codes = codesOf({ name: 'PAY_0', kind: 'numeric', values })!;
    assert.ok(codes.level instanceof Uint8Array && codes.level.buffer instanceof SharedArrayBuffer);
    const text = Array.from(values, (v) => (Number.isNaN(v) ? null : String(v)));
    const rows = all(values.length).filter((r) => r % 5 !== 0);
    const opts = { ...DEFAULT_BINNING, minCategoryShare: 0.01 };
    const byText = { ...binCategorical('PAY_0', text, y, rows, opts), coded: true };
    const byLevel = binCoded('PAY_0', codes, y, rows, opts);
    assert.deepEqual(byLevel, byText);
    const every = all(values.length);
    assert.deepEqual(
      Array.from(assignCodedBins(byLevel, codes, every)),
      Array.from(assignBins(byText, text, every)),
    );
  });

  it('gives a scorecard feature one byte per row for its bins', () => {
    const values = [1, 2, 3, null, 5, 6, 7, 8];
    const f = binNumeric('x', values, Uint8Array.from([0, 1, 0, 1, 0, 1, 1, 0]), all(8), {
      ...DEFAULT_BINNING,
      minBinShare: 0.1,
    });
    assert.ok(assignBins(f, values, all(8)) instanceof Uint8Array);
  });
});

describe('the one sort per feature', () => {
  it('orders rows as a comparator sort on (value, row) does: ties, -0, specials, missing, rows in any order', () => {
    const random = mulberry32(9);
    const values: (number | null)[] = Array.from({ length: 3000 }, (_, i) =>
      i % 50 === 0 ? null : i % 97 === 0 ? -0 : Math.round(random() * 40) / 4 - 3,
    );
    values[5] = -999;
    const rows = all(values.length).filter((r) => r % 7 !== 0);
    const expected = rows
      .filter((r) => values[r] !== null && values[r] !== -999)
      .sort((a, b) => values[a]! - values[b]! || a - b);
    assert.deepEqual(Array.from(sortedPresentRows(values, rows, [-999])), expected);
    const shuffled = [...rows].reverse();
    assert.deepEqual(
      Array.from(
        sortedPresentRows(
          Float64Array.from(values, (v) => v ?? Number.NaN),
          shuffled,
          [-999],
        ),
      ),
      expected,
    );
  });
});
