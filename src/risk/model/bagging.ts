/**
 * Bagging the card: the average of cards fitted on halves of the fit rows.
 *
 * On a small set the card's variance is mostly its bins: the optimal binning's cut points and
 * category groups move with a few rows, and each bin's weight with them. Fitting the same card
 * (the complexity inner CV chose) on BAG_CARDS stratified half-samples, in complementary pairs, and
 * averaging their weights is the classic cure (bagging; on half-samples, "subagging", which needs no
 * duplicated rows). Each half's card keeps the penalty per row of the tuned card (L2 halved). The
 * average is still a points table: per feature, the cards' step functions add up to one step
 * function over the union of their cut points (numeric) or over the categories grouped by the bins
 * they fell into in each card (categorical and codes). Neighbouring bins whose points round to the
 * same whole number are merged (scoring is unchanged), and a feature keeps at most MAX_BINS value
 * bins (the two closest neighbours merged, count-weighted, until it does). A feature some cards did
 * not select counts 0 in those, so it is shrunk by the share of cards that did. The bins' counts,
 * WoE and IV are the fit rows', so the model file, scorer, reason codes and monitoring read it as
 * any per-bin-coded card (coding 'bagged').
 */
import {
  assignBin,
  type Bin,
  type FeatureBinning,
  formatNumber,
  intervalLabel,
  MAX_BINS,
  makeBin,
} from './binning.ts';
import { mulberry32, shuffle } from './cv.ts';
import { type FitOptions, featureBins, fitScorecard, type PreparedColumn, scoreRows } from './fit.ts';
import type { Shape } from './optimal-binning.ts';
import {
  buildScorecard,
  gradeCuts,
  type Scorecard,
  type ScorecardFeature,
  type ScorecardInput,
  slopeOnWoe,
} from './scorecard.ts';
import { woeTable } from './woe.ts';

/**
 * Cards averaged (even: complementary pairs). On german_credit the mean AUC rose with the cards
 * (40: 0.7935, 100: 0.7942, 200: 0.7943 over seeds 42 and 1-5) and so did the agreement between
 * bag seeds; 100 costs about 2.5x the CPU of one tuned fit on 800 rows.
 */
export const BAG_CARDS = 100;
/** Most cards a caller may ask for. */
export const MAX_BAG_CARDS = 1000;
/**
 * Above this many fit rows one card is fitted: the bins hardly move there (it is also where inner
 * CV stops, complexity.ts), and a bag would cost BAG_CARDS fits of half the rows.
 */
export const BAG_MAX_ROWS = 20_000;
/** Fewer goods or bads than this in the fit rows and halves would be too thin to bin: one card. */
export const BAG_MIN_CLASS_ROWS = 20;

/**
 * Complementary stratified halves of the rows: each class shuffled by a seeded PRNG and split in
 * two, so every row is in exactly one of the pair (each card of a pair sees the rows the other
 * does not, and over the pairs every row is in half the cards: less noise than independent draws).
 */
export function halves(y: Uint8Array, rows: readonly number[], seed: number): [number[], number[]] {
  const random = mulberry32(seed);
  const first = new Set<number>();
  for (const label of [0, 1]) {
    const members = shuffle(
      rows.filter((r) => y[r] === label),
      random,
    );
    for (const r of members.slice(0, Math.floor(members.length / 2))) first.add(r);
  }
  return [rows.filter((r) => first.has(r)), rows.filter((r) => !first.has(r))];
}

/** A card feature's unrounded weight on ln(odds of bad) per bin, the missing policy applied. */
function cardWeights(f: ScorecardFeature): number[] {
  const raw = f.bins.map((bin, b) => (f.binWeights ? f.binWeights[b]! : f.coefficient * bin.woe));
  if (f.binWeights && f.missingScoredAs === 'worst') {
    // buildScorecard gave the missing bin the worst trained bin's points: the same weight here.
    let worst = -1;
    f.bins.forEach((bin, b) => {
      if (b !== f.missingBin && bin.count > 0 && (worst < 0 || raw[b]! > raw[worst]!)) worst = b;
    });
    if (worst >= 0) raw[f.missingBin] = raw[worst]!;
  }
  return raw;
}

/**
 * A merged bin and how each card places it: an interval above a cut (`lower`), a value (a special
 * value or a category), the missing values, or a category no card saw.
 */
interface MergedBin {
  bin: Bin;
  place: { interval: number | null } | { value: number | string } | { missing: true } | { unseen: true };
}

/** The bin of a card's feature that a merged bin falls in. */
function cardBin(f: ScorecardFeature, m: MergedBin): number {
  const at = m.place;
  if ('missing' in at) return f.missingBin;
  if ('unseen' in at) return f.type === 'numeric' ? f.missingBin : f.unseenBin;
  if ('interval' in at) {
    // Every merged cut is some card's cut, so the interval lies inside one bin of each card.
    const lower = at.interval;
    return lower === null ? 0 : f.cuts.filter((c) => c <= lower).length;
  }
  const value = f.type === 'numeric' && typeof at.value === 'string' ? Number(at.value) : at.value;
  return assignBin(f, value);
}

/** Numeric: intervals of the union of the cards' cuts, then the special values, then missing. */
function numericLayout(fs: readonly ScorecardFeature[]): MergedBin[] {
  const cuts = [...new Set(fs.flatMap((f) => f.cuts))].sort((a, b) => a - b);
  const merged: MergedBin[] = [];
  for (let i = 0; i <= cuts.length; i++) {
    const lower = i === 0 ? null : cuts[i - 1]!;
    const upper = i === cuts.length ? null : cuts[i]!;
    merged.push({
      bin: makeBin({ label: intervalLabel(lower, upper), lower, upper }),
      place: { interval: lower },
    });
  }
  const specials = [...new Set(fs.flatMap((f) => (f.specials ?? []).map((s) => s.value)))];
  for (const value of specials.sort((a, b) => a - b))
    merged.push({
      bin: makeBin({ label: `special ${formatNumber(value)}`, special: value }),
      place: { value },
    });
  merged.push({ bin: makeBin({ label: 'missing', missing: true }), place: { missing: true } });
  return merged;
}

/**
 * Categories (or codes): every category some card saw, grouped by the bins it fell in across the
 * cards, then one bin for categories none saw (unless it falls with a group), then missing.
 */
function categoricalLayout(fs: readonly ScorecardFeature[]): MergedBin[] {
  const seen = [...new Set(fs.flatMap((f) => f.bins.flatMap((b) => b.categories ?? [])))];
  const unseen: MergedBin = {
    bin: makeBin({ label: 'other', other: true, categories: [] }),
    place: { unseen: true },
  };
  const keyOf = (m: MergedBin): string => fs.map((f) => cardBin(f, m)).join(',');
  const unseenKey = keyOf(unseen);
  const groups = new Map<string, MergedBin>();
  for (const category of seen) {
    const probe: MergedBin = { bin: makeBin({ label: category }), place: { value: category } };
    const key = keyOf(probe);
    const group = groups.get(key);
    if (group) group.bin.categories!.push(category);
    else
      groups.set(key, {
        bin: makeBin({ label: category, categories: [category], other: key === unseenKey }),
        place: probe.place,
      });
  }
  const merged = [...groups.values()];
  if (!merged.some((m) => m.bin.other)) merged.push(unseen);
  for (const m of merged) {
    const shown = m.bin.categories!.join(' | ');
    m.bin.label = m.bin.other ? (shown ? `${shown} | other` : 'other') : shown;
  }
  merged.push({ bin: makeBin({ label: 'missing', missing: true }), place: { missing: true } });
  return merged;
}

/** A run of merged bins scored as one: count-weighted weight, summed counts. */
interface Unit {
  members: MergedBin[];
  weight: number;
  count: number;
  good: number;
  bad: number;
}

function join(a: Unit, b: Unit): Unit {
  const count = a.count + b.count;
  const weight = count > 0 ? (a.count * a.weight + b.count * b.weight) / count : (a.weight + b.weight) / 2;
  return { members: [...a.members, ...b.members], weight, count, good: a.good + b.good, bad: a.bad + b.bad };
}

/**
 * Neighbours (in value order, or in weight order for categories) that score the same whole points
 * are one bin; then, while more than MAX_BINS, the two closest neighbours are joined.
 */
function compress(units: Unit[], factor: number): Unit[] {
  const points = (u: Unit): number => Math.round(-factor * u.weight);
  let out: Unit[] = [];
  for (const u of units) {
    const last = out.at(-1);
    if (last && points(last) === points(u)) out[out.length - 1] = join(last, u);
    else out.push(u);
  }
  while (out.length > MAX_BINS) {
    let at = 0;
    for (let i = 1; i + 1 < out.length; i++) {
      if (Math.abs(out[i + 1]!.weight - out[i]!.weight) < Math.abs(out[at + 1]!.weight - out[at]!.weight))
        at = i;
    }
    out = [...out.slice(0, at), join(out[at]!, out[at + 1]!), ...out.slice(at + 2)];
  }
  return out;
}

/** A unit's bin: an interval from its first member's lower to its last's upper, or its categories. */
function unitBin(u: Unit): Bin {
  const first = u.members[0]!.bin;
  const last = u.members.at(-1)!.bin;
  const counts = { count: u.count, good: u.good, bad: u.bad };
  if (first.categories === null) {
    if (u.members.length === 1) return { ...first, ...counts };
    return {
      ...makeBin({ label: intervalLabel(first.lower, last.upper), lower: first.lower, upper: last.upper }),
      ...counts,
    };
  }
  const categories = u.members.flatMap((m) => m.bin.categories!);
  const other = u.members.some((m) => m.bin.other);
  const shown = categories.join(' | ');
  const label = other ? (shown ? `${shown} | other` : 'other') : shown;
  return { ...makeBin({ label, categories, other }), ...counts };
}

/** Bins and weights of one feature laid out for the cards, with each bin's fit-row counts. */
function layoutUnits(
  fs: readonly (ScorecardFeature | undefined)[],
  prepared: readonly PreparedColumn[],
  y: Uint8Array,
  rows: readonly number[],
): { units: Unit[]; binning: FeatureBinning } {
  const present = fs.filter((f): f is ScorecardFeature => f !== undefined);
  const first = present[0]!;
  const numeric = present.every((f) => f.type === 'numeric');
  const layout = numeric ? numericLayout(present) : categoricalLayout(present);
  const binning = layoutBinning(
    first,
    layout.map((m) => m.bin),
    numeric,
    present.some((f) => f.coded),
  );
  const tallies = layout.map(() => ({ count: 0, good: 0, bad: 0 }));
  const bins = featureBins(binning, prepared, rows);
  rows.forEach((r, i) => {
    const t = tallies[bins[i]!]!;
    t.count++;
    if (y[r] === 1) t.bad++;
    else t.good++;
  });
  const weights = fs.map((f) => (f ? cardWeights(f) : null));
  const units = layout.map((m, b): Unit => {
    let sum = 0;
    fs.forEach((f, c) => {
      if (f) sum += weights[c]![cardBin(f, m)]!;
    });
    return { members: [m], weight: sum / fs.length, ...tallies[b]! };
  });
  return { units, binning };
}

/** A FeatureBinning over merged bins: value bins first, then special values, unseen and missing. */
function layoutBinning(
  first: ScorecardFeature,
  bins: Bin[],
  numeric: boolean,
  coded: boolean,
): FeatureBinning {
  const missingBin = bins.length - 1;
  const base = { name: first.name, bins, missingBin, ...(first.ratio ? { ratio: first.ratio } : {}) };
  if (!numeric) {
    const unseenBin = bins.findIndex((b) => b.other);
    return { ...base, type: 'categorical', cuts: [], unseenBin, shape: 'none', ...(coded ? { coded } : {}) };
  }
  const values = bins.filter((b) => !b.missing && b.special === undefined);
  const specials = bins.flatMap((b, i) => (b.special === undefined ? [] : [{ value: b.special, bin: i }]));
  const binned = new Set(specials.map((s) => s.value));
  return {
    ...base,
    type: 'numeric',
    cuts: values.slice(1).map((b) => b.lower!),
    unseenBin: missingBin,
    specials,
    specialsMissing: [...new Set(first.specialsMissing ?? [])].filter((v) => !binned.has(v)),
    shape: 'none',
  };
}

/**
 * The bad-rate shape of a numeric feature's averaged weights (on ln odds of bad, in value order):
 * averaging cards that share a trend keeps it, so the merged card can say so as a binned card does.
 */
export function shapeOf(weights: readonly number[]): Shape {
  const turns: number[] = [];
  for (let i = 1; i < weights.length; i++) {
    const step = Math.sign(weights[i]! - weights[i - 1]!);
    if (step !== 0 && step !== turns.at(-1)) turns.push(step);
  }
  if (turns.length === 0) return 'none';
  if (turns.length === 1) return turns[0]! > 0 ? 'ascending' : 'descending';
  if (turns.length === 2) return turns[0]! > 0 ? 'peak' : 'valley';
  return 'none';
}

/** One feature of the bagged card: merged, compressed, centred on the fit rows. */
function mergeFeature(
  fs: readonly (ScorecardFeature | undefined)[],
  prepared: readonly PreparedColumn[],
  y: Uint8Array,
  rows: readonly number[],
  factor: number,
  smoothing: number,
): { input: ScorecardInput; centre: number } {
  const { units: raw, binning } = layoutUnits(fs, prepared, y, rows);
  // Centred first (merging keeps count-weighted sums), so the points compared are the card's.
  const rowsIn = raw.reduce((s, u) => s + u.count, 0);
  const centre = rowsIn > 0 ? raw.reduce((s, u) => s + u.count * u.weight, 0) / rowsIn : 0;
  const units = raw.map((u) => ({ ...u, weight: u.weight - centre }));
  const isValue = (u: Unit): boolean => {
    const bin = u.members[0]!.bin;
    return (
      !bin.missing && bin.special === undefined && (bin.categories === null || bin.categories.length > 0)
    );
  };
  const values = units.filter(isValue);
  // Categories have no order of their own: neighbours are the closest weights.
  if (binning.type === 'categorical') values.sort((a, b) => a.weight - b.weight);
  const compressed = compress(values, factor);
  const kept = [...compressed, ...units.filter((u) => !isValue(u))];
  const bins = kept.map(unitBin);
  const first = fs.find((f) => f !== undefined)!;
  const merged = layoutBinning(first, bins, binning.type === 'numeric', binning.coded === true);
  // The shape the points show (neighbours differ by whole points once merged).
  if (merged.type === 'numeric') merged.shape = shapeOf(compressed.map((u) => Math.round(factor * u.weight)));
  // The missing bin and the bin of categories no card saw, when no fit row fell in them, have no
  // evidence: weight 0, as under per-bin coding (the missing policy decides the missing bin). An
  // interval no fit row fell in (between two cards' cuts, e.g. [6.5, 7) of whole months) keeps
  // the cards' average: a value there is scored as the cards would score it.
  const weights = kept.map((u) => (u.count > 0 || isValue(u) ? u.weight : 0));
  const { woe, iv } = woeTable(bins, smoothing);
  return {
    input: {
      binning: merged,
      woe,
      iv,
      coefficient: slopeOnWoe(bins, woe, weights),
      stdError: 0,
      perBin: { coding: 'bagged', weights },
    },
    centre,
  };
}

/** Whether a fit of these rows is bagged with `cards` cards. */
export function bags(y: Uint8Array, rows: readonly number[], cards: number): boolean {
  if (cards === 0 || rows.length > BAG_MAX_ROWS) return false;
  let bads = 0;
  for (const r of rows) bads += y[r]!;
  return Math.min(bads, rows.length - bads) >= BAG_MIN_CLASS_ROWS;
}

/**
 * One card per half of each of cards/2 seeded splits of `rows`, fitted with `opts` (its L2 per
 * row kept); a half on which no feature survives gives no card.
 */
export function halfCards(
  prepared: PreparedColumn[],
  y: Uint8Array,
  rows: number[],
  opts: FitOptions,
  seed: number,
  cards = BAG_CARDS,
): Scorecard[] {
  if (!Number.isInteger(cards) || cards < 2 || cards % 2 !== 0 || cards > MAX_BAG_CARDS)
    throw new RangeError(`bag cards must be an even number from 2 to ${MAX_BAG_CARDS}`);
  const out: Scorecard[] = [];
  for (let pair = 0; pair < cards / 2; pair++) {
    for (const half of halves(y, rows, (seed * 7919 + pair + 1) >>> 0)) {
      // The tuned penalty is per fit; half the rows get half of it, the same shrinkage per row.
      const l2 = (opts.l2 * half.length) / rows.length;
      try {
        out.push(fitScorecard(prepared, y, half, { ...opts, l2 }).card);
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
      }
    }
  }
  return out;
}

/**
 * The average of `cards` as one points table over `rows` (its bins' counts, centring and grades),
 * with the cards' scaling and `opts`' smoothing and missing policy.
 */
export function mergeCards(
  cards: readonly Scorecard[],
  prepared: PreparedColumn[],
  y: Uint8Array,
  rows: number[],
  opts: Pick<FitOptions, 'smoothing' | 'missingPolicy'>,
): Scorecard {
  if (cards.length === 0) throw new RangeError('no card to average');
  const names = [...new Set(cards.flatMap((c) => c.features.map((f) => f.name)))];
  const factor = cards[0]!.factor;
  let intercept = cards.reduce((s, c) => s + c.intercept, 0) / cards.length;
  const inputs = names.map((name) => {
    const fs = cards.map((c) => c.features.find((f) => f.name === name));
    const { input, centre } = mergeFeature(fs, prepared, y, rows, factor, opts.smoothing);
    intercept += centre;
    return input;
  });
  const interceptStdError = cards.reduce((s, c) => s + c.interceptStdError, 0) / cards.length;
  const card = buildScorecard(inputs, intercept, interceptStdError, cards[0]!.scaling, opts.missingPolicy);
  card.grades = gradeCuts(Array.from(scoreRows(card, prepared, rows)));
  return card;
}

/**
 * The card averaged over `cards` cards fitted with `opts` on stratified halves of `rows` (seeded:
 * the same rows and seed give the same card), centred on `rows`.
 */
export function baggedCard(
  prepared: PreparedColumn[],
  y: Uint8Array,
  rows: number[],
  opts: FitOptions,
  seed: number,
  cards = BAG_CARDS,
): Scorecard {
  const fitted = halfCards(prepared, y, rows, opts, seed, cards);
  if (fitted.length === 0) throw new RangeError('no half of the rows could be fitted');
  return mergeCards(fitted, prepared, y, rows, opts);
}
