/**
 * Training with the cross-validation folds spread over worker threads. The model code is pure and
 * single-threaded (risk/model/train.ts); this module only decides which thread fits which fold.
 * Fold j runs on thread j mod (workers + 1), thread 0 being this one, which also fits the final
 * model meanwhile; each worker prepares its own copy of the columns from the dataset it is sent.
 * The result is the same as train()'s: each fold's fit depends only on the data, options and k.
 */
import { Worker } from 'node:worker_threads';
import type { Dataset } from '../model/csv.ts';
import {
  type FoldOutcome,
  finishTraining,
  fitFinal,
  prepareTraining,
  runFold,
  type TrainOptions,
  type TrainResult,
} from '../model/train.ts';

/** Worker threads besides the main one: this machine has 2 cores, shared. */
export const DEFAULT_TRAIN_WORKERS = 1;
export const MAX_TRAIN_WORKERS = 8;

export type TrainRequest = Partial<TrainOptions> & Pick<TrainOptions, 'target' | 'badValue'>;

/** What a fold worker is sent (onProgress cannot cross threads; progress comes back as messages). */
export interface FoldJob {
  data: Dataset;
  options: Omit<TrainRequest, 'onProgress'>;
  folds: number[];
}

export type FoldMessage = { progress: string } | { outcomes: FoldOutcome[] } | { error: string };

/**
 * The worker thread. fenqi runs its TypeScript through tsx with no build step, and a worker does
 * not inherit the main thread's loader hooks, so it registers tsx itself before loading the file.
 */
function startWorker(job: FoldJob): Worker {
  const file = new URL('./fold-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(file)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: job });
}

function runInWorker(job: FoldJob, progress: (message: string) => void): Promise<FoldOutcome[]> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(job);
    worker.on('message', (message: FoldMessage) => {
      if ('progress' in message) progress(message.progress);
      else if ('outcomes' in message) resolve(message.outcomes);
      else reject(new Error(message.error));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (code !== 0) reject(new Error(`fold worker exited with code ${code}`));
    });
  });
}

export async function trainParallel(
  data: Dataset,
  options: TrainRequest,
  workers = DEFAULT_TRAIN_WORKERS,
): Promise<TrainResult> {
  if (!(Number.isInteger(workers) && workers >= 0 && workers <= MAX_TRAIN_WORKERS)) {
    throw new RangeError(`workers must be 0..${MAX_TRAIN_WORKERS}`);
  }
  const { onProgress, ...plain } = options;
  const progress = onProgress ?? (() => {});
  const prep = prepareTraining(data, options);
  const foldCount = prep.folds ? prep.opts.folds : 0;
  const threads = Math.min(workers + 1, Math.max(1, foldCount));
  const share = (t: number): number[] =>
    Array.from({ length: foldCount }, (_, k) => k).filter((k) => k % threads === t);
  const pending = Array.from({ length: threads - 1 }, (_, w) =>
    runInWorker({ data, options: plain, folds: share(w + 1) }, progress),
  );
  // A rejected worker must not go unobserved while this thread is busy fitting.
  for (const p of pending) p.catch(() => {});
  const outcomes: FoldOutcome[] = [];
  for (const k of share(0)) {
    progress(`fold ${k + 1}/${foldCount}: binning and fitting`);
    outcomes.push(runFold(prep, k));
  }
  progress('final model on all rows');
  const final = fitFinal(prep);
  for (const p of pending) outcomes.push(...(await p));
  return finishTraining(prep, outcomes, final);
}
