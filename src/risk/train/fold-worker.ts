/** A worker thread of parallel.ts: prepares the columns and fits the folds it was given. */
import { parentPort, workerData } from 'node:worker_threads';
import { prepareTraining, runFold } from '../model/train.ts';
import type { FoldJob, FoldMessage } from './parallel.ts';

const job = workerData as FoldJob;
const post = (message: FoldMessage): void => parentPort!.postMessage(message);
try {
  const prep = prepareTraining(job.data, job.options);
  const outcomes = job.folds.map((k) => {
    post({ progress: `fold ${k + 1}/${prep.opts.folds}: binning and fitting (worker)` });
    return runFold(prep, k);
  });
  post({ outcomes });
} catch (err) {
  post({ error: err instanceof Error ? err.message : String(err) });
}
