import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignBin, binNumeric, DEFAULT_BINNING } from '../../src/risk/model/binning.ts';
import { mulberry32 } from '../../src/risk/model/cv.ts';
import { type Counts, optimalSegments, type Shape } from '../../src/risk/model/optimal-binning.ts';

const atomsOf = (rates: number[], size = 100): Counts[] =>
  rates.map((r) => ({ good: Math.round(size * (1 - r)), bad: Math.round(size * r) }));

const rateOf = (atoms: Counts[], [a, b]: [number, number]): number => {
  const s = atoms.slice(a, b);
  const bad = s.reduce((t, x) => t + x.bad, 0);
  return bad / s.reduce((t, x) => t + x.good + x.bad, 0);
};

/** Every partition into contiguous runs, by brute force, to check the solver against. */
function* partitions(n: number): Generator<[number, number][]> {
  for (let mask = 0; mask < 1 << (n - 1); mask++) {
    const segments: [number, number][] = [];
    let start = 0;
    for (let i = 1; i < n; i++) {
      if (mask & (1 << (i - 1))) {
        segments.push([start, i]);
        start = i;
      }
    }
    segments.push([start, n]);
    yield segments;
  }
}

describe('exact optimal binning', () => {
  it('matches brute force over every partition for each shape, bin limit and minimum size', () => {
    const random = mulberry32(3);
    for (let trial = 0; trial < 30; trial++) {
      const atoms = atomsOf(
        Array.from({ length: 8 }, () => 0.05 + 0.5 * random()),
        50 + Math.floor(100 * random()),
      );
      const counts = (s: [number, number]): number =>
        atoms.slice(s[0], s[1]).reduce((t, x) => t + x.good + x.bad, 0);
      for (const shape of ['ascending', 'descending', 'peak', 'valley', 'none'] as Shape[]) {
        const maxBins = 2 + (trial % 4);
        const minCount = 100 + 20 * (trial % 5);
        const solved = optimalSegments(atoms, maxBins, minCount, shape);
        let best = Number.NEGATIVE_INFINITY;
        for (const p of partitions(atoms.length)) {
          if (p.length > maxBins || p.some((s) => counts(s) < minCount)) continue;
          if (!fitsShape(atoms, p, shape)) continue;
          best = Math.max(best, ivOfPartition(atoms, p));
        }
        if (best === Number.NEGATIVE_INFINITY) continue;
        assert.ok(Math.abs(solved.iv - best) < 1e-9, `${shape}: solver ${solved.iv}, brute force ${best}`);
        assert.ok(Math.abs(ivOfPartition(atoms, solved.segments) - solved.iv) < 1e-9);
      }
    }
  });

  it('keeps a single peak and never more than one turn', () => {
    const atoms = atomsOf([0.1, 0.12, 0.3, 0.31, 0.5, 0.2, 0.1]);
    const peak = optimalSegments(atoms, 6, 100, 'peak');
    const rates = peak.segments.map((s) => rateOf(atoms, s));
    const top = rates.indexOf(Math.max(...rates));
    for (let i = 1; i <= top; i++) assert.ok(rates[i]! >= rates[i - 1]!);
    for (let i = top + 1; i < rates.length; i++) assert.ok(rates[i]! <= rates[i - 1]!);
    const ascending = optimalSegments(atoms, 6, 100, 'ascending');
    assert.ok(peak.iv > ascending.iv);
  });

  it('chooses a valley for U-shaped risk and a monotone trend for a straight one', () => {
    const random = mulberry32(9);
    const n = 20_000;
    const x = Array.from({ length: n }, () => Math.floor(random() * 100));
    const rows = x.map((_, i) => i);
    const u = Uint8Array.from(x, (v) => (random() < 0.08 + 0.3 * ((v - 50) / 50) ** 2 ? 1 : 0));
    const valley = binNumeric('u', x, u, rows);
    assert.equal(valley.shape, 'valley');
    const line = Uint8Array.from(x, (v) => (random() < 0.1 + v / 400 ? 1 : 0));
    assert.equal(binNumeric('l', x, line, rows).shape, 'ascending');
  });

  it('is deterministic: the same data gives the same cuts', () => {
    const random = mulberry32(4);
    const x = Array.from({ length: 5000 }, () => random() * 10);
    const y = Uint8Array.from(x, (v) => (random() < 0.1 + v / 30 ? 1 : 0));
    const rows = x.map((_, i) => i);
    assert.deepEqual(binNumeric('x', x, y, rows).cuts, binNumeric('x', x, y, rows).cuts);
  });
});

describe('special values', () => {
  const random = mulberry32(5);
  const x: (number | null)[] = Array.from({ length: 4000 }, (_, i) =>
    i % 25 === 0 ? -999 : Math.floor(random() * 100),
  );
  const y = Uint8Array.from(x, (v) => (random() < (v === -999 ? 0.6 : 0.1 + (v ?? 0) / 500) ? 1 : 0));
  const rows = x.map((_, i) => i);

  it('gives a special value a bin of its own instead of the lowest numeric bin', () => {
    const f = binNumeric('x', x, y, rows, { ...DEFAULT_BINNING, specialValues: [-999, -888] });
    const special = f.bins[assignBin(f, -999)]!;
    assert.equal(special.special, -999);
    assert.equal(special.count, 160);
    assert.ok(f.bins[assignBin(f, 0)]!.special === undefined);
    // A declared special value that never occurred in training is scored as missing.
    assert.equal(assignBin(f, -888), f.missingBin);
    assert.ok(
      f.cuts.every((c) => c > 0),
      'the code -999 must not shape the numeric cuts',
    );
  });

  it('counts a special value as missing under the missing policy', () => {
    const f = binNumeric('x', x, y, rows, {
      ...DEFAULT_BINNING,
      specialValues: [-999],
      specialPolicy: 'missing',
    });
    assert.equal(assignBin(f, -999), f.missingBin);
    assert.equal(f.bins[f.missingBin]!.count, 160);
  });
});

function fitsShape(atoms: Counts[], p: [number, number][], shape: Shape): boolean {
  const rates = p.map((s) => smoothedRate(atoms, s));
  const up = (i: number): boolean => rates[i]! >= rates[i - 1]!;
  const down = (i: number): boolean => rates[i]! <= rates[i - 1]!;
  if (shape === 'none') return true;
  if (shape === 'ascending') return rates.every((_, i) => i === 0 || up(i));
  if (shape === 'descending') return rates.every((_, i) => i === 0 || down(i));
  // One turn: some split point t with the first part one way and the rest the other.
  for (let t = 0; t < rates.length; t++) {
    let ok = true;
    for (let i = 1; i < rates.length && ok; i++) {
      ok = i <= t ? (shape === 'peak' ? up(i) : down(i)) : shape === 'peak' ? down(i) : up(i);
    }
    if (ok) return true;
  }
  return false;
}

function smoothedRate(atoms: Counts[], [a, b]: [number, number]): number {
  const s = atoms.slice(a, b);
  const good = s.reduce((t, x) => t + x.good, 0);
  const bad = s.reduce((t, x) => t + x.bad, 0);
  return (bad + 0.5) / (good + bad + 1);
}

function ivOfPartition(atoms: Counts[], p: [number, number][]): number {
  const goods = atoms.reduce((t, x) => t + x.good, 0);
  const bads = atoms.reduce((t, x) => t + x.bad, 0);
  return p.reduce((total, [a, b]) => {
    const s = atoms.slice(a, b);
    const g = (s.reduce((t, x) => t + x.good, 0) + 0.5) / (goods + 0.5);
    const bb = (s.reduce((t, x) => t + x.bad, 0) + 0.5) / (bads + 0.5);
    return total + (g - bb) * Math.log(g / bb);
  }, 0);
}
