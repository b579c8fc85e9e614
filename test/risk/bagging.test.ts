import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { GERMAN_CREDIT_CSV } from '../../src/paths.ts';
import {
  BAG_MAX_ROWS,
  baggedCard,
  bags,
  halfCards,
  halves,
  mergeCards,
  shapeOf,
} from '../../src/risk/model/bagging.ts';
import { assignBin, MAX_BINS } from '../../src/risk/model/binning.ts';
import { parseCsv, toDataset } from '../../src/risk/model/csv.ts';
import { scoreRow } from '../../src/risk/model/scorecard.ts';
import { DEFAULT_TRAIN, prepareColumns, scoreRows, targetOf, train } from '../../src/risk/model/train.ts';

const german = toDataset(parseCsv(readFileSync(GERMAN_CREDIT_CSV, 'utf8')));
const { y, rows } = targetOf(german, 'credit_risk', '0');
const columns = german.columns.filter((c) => c.name !== 'credit_risk');
const prepared = prepareColumns(columns, DEFAULT_TRAIN.binning, rows);
const opts = { ...DEFAULT_TRAIN, target: 'credit_risk', badValue: '0', l2: 10 };

describe('bagging the card on halves of the rows', () => {
  it('splits each class into complementary halves, the same for the same seed', () => {
    const [a, b] = halves(y, rows, 7);
    assert.equal(a.length + b.length, rows.length);
    assert.equal(new Set([...a, ...b]).size, rows.length);
    const bads = (half: number[]) => half.filter((r) => y[r] === 1).length;
    assert.ok(Math.abs(bads(a) - bads(b)) <= 1);
    assert.deepEqual(halves(y, rows, 7), [a, b]);
    assert.notDeepEqual(halves(y, rows, 8)[0], a);
  });

  it('scores every row as the average of its cards, to within the rounding of whole points', () => {
    const cards = halfCards(prepared, y, rows, opts, 1, 6);
    assert.equal(cards.length, 6);
    const merged = mergeCards(cards, prepared, y, rows, opts);
    const bagged = scoreRows(merged, prepared, rows);
    const each = cards.map((c) => scoreRows(c, prepared, rows));
    // every card and the merged one round each feature's points: half a point per feature each way
    const slack = merged.features.length + Math.max(...cards.map((c) => c.features.length)) + 1;
    rows.forEach((_, i) => {
      const mean = each.reduce((s, scores) => s + scores[i]!, 0) / cards.length;
      assert.ok(Math.abs(bagged[i]! - mean) <= slack, `row ${i}: ${bagged[i]} against ${mean}`);
    });
  });

  it("scores a value between two cards' cuts that no fit row had as the cards do, not as an average bin", () => {
    const cards = halfCards(prepared, y, rows, opts, 1, 6);
    const merged = mergeCards(cards, prepared, y, rows, opts);
    const mean = (name: string, value: number): number =>
      cards.reduce((s, c) => {
        const f = c.features.find((g) => g.name === name);
        return s + (f ? f.bins[assignBin(f, value)]!.points : 0);
      }, 0) / cards.length;
    let empty = 0;
    for (const f of merged.features.filter((g) => g.type === 'numeric')) {
      const values = f.bins.filter((b) => !b.missing && b.special === undefined);
      values.forEach((bin, b) => {
        if (bin.count > 0 || bin.lower === null) return;
        empty++;
        // against the neighbour below, which held rows: the feature's centring cancels out
        const below = values[b - 1]!;
        const probe = below.lower ?? bin.lower - 1;
        const cardsStep = mean(f.name, bin.lower) - mean(f.name, probe);
        assert.ok(Math.abs(bin.points - below.points - cardsStep) <= 2, `${f.name} ${bin.label}`);
      });
    }
    assert.ok(empty > 0, 'german_credit has whole-number values, so some intervals hold no row');
  });

  it('is a points table: bounded bins, neighbours apart by whole points, scored by scoreRow alike', () => {
    const card = baggedCard(prepared, y, rows, opts, 3, 10);
    const byColumns = scoreRows(card, prepared, rows);
    for (const f of card.features) {
      assert.equal(f.coding, 'bagged');
      const values = f.bins.filter((b) => !b.missing && b.special === undefined && b.count > 0);
      assert.ok(values.length <= MAX_BINS, `${f.name}: ${values.length} bins`);
      if (f.type === 'numeric') {
        for (let i = 1; i < values.length; i++)
          assert.notEqual(values[i]!.points, values[i - 1]!.points, `${f.name} ${values[i]!.label}`);
      }
    }
    for (const i of [0, 1, 2, 500, 999]) {
      const row = Object.fromEntries(columns.map((c) => [c.name, c.values[rows[i]!]]));
      assert.equal(scoreRow(card, row).score, byColumns[i]);
    }
  });

  it('gives the same card for the same rows and seed', () => {
    const a = baggedCard(prepared, y, rows, opts, 5, 4);
    const b = baggedCard(prepared, y, rows, opts, 5, 4);
    assert.deepEqual(a, b);
  });

  it('reads the shape of the averaged points: trends, one turn, or none', () => {
    assert.equal(shapeOf([1, 2, 2, 3]), 'ascending');
    assert.equal(shapeOf([3, 1]), 'descending');
    assert.equal(shapeOf([3, 1, 2]), 'valley');
    assert.equal(shapeOf([1, 3, 2]), 'peak');
    assert.equal(shapeOf([1, 3, 2, 4]), 'none');
    assert.equal(shapeOf([2]), 'none');
  });

  it('bags only small sets with enough of each class', () => {
    assert.equal(bags(y, rows, 100), true);
    assert.equal(bags(y, rows, 0), false);
    const many = Array.from({ length: BAG_MAX_ROWS + 1 }, (_, i) => i);
    assert.equal(bags(new Uint8Array(many.length).fill(1, 0, 1000), many, 100), false);
    assert.equal(
      bags(
        y,
        rows.filter((r) => y[r] === 0 || r < 40),
        100,
      ),
      false,
    );
  });

  it("raises german_credit's 5-fold AUC (seed 42) over one card and records the bag per fold", () => {
    const run = (bagCards: number) =>
      train(german, { target: 'credit_risk', badValue: '0', folds: 5, seed: 42, bagCards }).model;
    const one = run(0);
    const bagged = run(100);
    assert.ok(bagged.metrics.cv!.mean.auc > one.metrics.cv!.mean.auc);
    assert.ok(bagged.metrics.cv!.mean.auc >= 0.795, `bagged ${bagged.metrics.cv!.mean.auc}`);
    assert.ok(bagged.metrics.cv!.folds.every((f) => f.bagCards === 100));
    assert.equal(bagged.complexity?.bagCards, 100);
    assert.equal(one.complexity?.bagCards, undefined);
  });
});
