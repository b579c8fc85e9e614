/**
 * A worker thread of parallel.ts: waits for the preparation the main thread made (sort orders and
 * codes on shared memory) and fits the folds it was given.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fromShared, runFold } from '../model/train.ts';
import type { FoldJob, FoldMessage, PrepareMessage } from './parallel.ts';

const job = workerData as FoldJob;
const post = (message: FoldMessage): void => parentPort!.postMessage(message);
parentPort!.once('message', ({ prepared }: PrepareMessage) => {
  try {
    const prep = fromShared(prepared, job.options);
    const outcomes = job.folds.map((k) => {
      post({ progress: `fold ${k + 1}/${prep.opts.folds}: binning and fitting (worker)` });
      return runFold(prep, k);
    });
    post({ outcomes });
  } catch (err) {
    post({ error: err instanceof Error ? err.message : String(err) });
  }
});
