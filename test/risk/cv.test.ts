import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32, stratifiedFolds } from '../../src/risk/model/cv.ts';

describe('stratified k-fold', () => {
  const labels = Array.from({ length: 1000 }, (_, i) => (i % 10 < 3 ? 1 : 0));

  it('keeps the bad rate and size of every fold equal to within one row', () => {
    const folds = stratifiedFolds(labels, 5, 42);
    for (let k = 0; k < 5; k++) {
      const members = labels.filter((_, i) => folds[i] === k);
      assert.equal(members.length, 200);
      assert.equal(members.filter((y) => y === 1).length, 60);
    }
  });

  it('assigns the same folds for the same seed and different ones for another seed', () => {
    assert.deepEqual(stratifiedFolds(labels, 5, 42), stratifiedFolds(labels, 5, 42));
    assert.notDeepEqual(stratifiedFolds(labels, 5, 42), stratifiedFolds(labels, 5, 43));
  });

  it('refuses more folds than the rarer class has rows', () => {
    assert.throws(() => stratifiedFolds([1, 0, 0, 0, 0, 0], 2, 1), RangeError);
  });

  it('draws the same PRNG sequence from the same seed', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    for (let i = 0; i < 5; i++) assert.equal(a(), b());
  });
});
