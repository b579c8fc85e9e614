import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCsv, parseCsvDataset, toDataset } from '../../src/risk/model/csv.ts';
import { train } from '../../src/risk/model/train.ts';
import { foldsOfThread, trainParallel } from '../../src/risk/train/parallel.ts';
import { creditDefaultCsv } from './credit-default-synthetic.ts';

describe('folds on worker threads', () => {
  it('gives the same folds, out-of-fold scores and model as training on one thread', async () => {
    const text = creditDefaultCsv(4000, 11);
    const options = { target: 'default', badValue: '1', exclude: ['ID'], folds: 3, seed: 5 };
    const alone = train(toDataset(parseCsv(text)), options);
    // the workers read the file's shared typed columns (parseCsvDataset), not a copy
    const spread = await trainParallel(parseCsvDataset(text), options, 1);
    assert.deepEqual(spread.model.metrics, alone.model.metrics);
    assert.deepEqual(spread.outOfFold, alone.outOfFold);
    assert.deepEqual(spread.model.features, alone.model.features);
  });

  it('deals the final model and the folds evenly: three fits each for five folds on two threads', () => {
    assert.deepEqual(foldsOfThread(0, 2, 5), [1, 3]);
    assert.deepEqual(foldsOfThread(1, 2, 5), [0, 2, 4]);
    const dealt = [0, 1, 2].flatMap((t) => foldsOfThread(t, 3, 10)).sort((a, b) => a - b);
    assert.deepEqual(dealt, [...Array(10).keys()]);
  });
});
