/**
 * Training with the cross-validation folds spread over worker threads. The model code is pure and
 * single-threaded (risk/model/train.ts); this module only decides which thread fits which fold.
 * The final model and the folds are jobs dealt round-robin over the threads (foldsOfThread), thread
 * 0 being this one. The workers start first (loading the code takes them a while) while this
 * thread prepares the columns (sort orders, codes views) once, on shared memory, then sends them
 * the preparation: the data, sort orders and codes are the same bytes in every thread. The result is the same as train()'s: each fit depends only on the data,
 * options and fold.
 */
import { Worker } from 'node:worker_threads';
import type { Dataset } from '../model/csv.ts';
import {
  DEFAULT_TRAIN,
  type FoldOutcome,
  finishTraining,
  fitFinal,
  MAX_FOLDS,
  prepareTraining,
  runFold,
  type SharedPreparation,
  sharedPreparation,
  type TrainOptions,
  type TrainResult,
} from '../model/train.ts';

/** Worker threads besides the main one: this machine has 2 cores, shared. */
export const DEFAULT_TRAIN_WORKERS = 1;
export const MAX_TRAIN_WORKERS = 8;

export type TrainRequest = Partial<TrainOptions> & Pick<TrainOptions, 'target' | 'badValue'>;

/**
 * What a fold worker is started with (onProgress cannot cross threads; progress comes back as
 * messages); its one message from this thread is then the preparation (PrepareMessage).
 */
export interface FoldJob {
  options: Omit<TrainRequest, 'onProgress'>;
  folds: number[];
}

export interface PrepareMessage {
  prepared: SharedPreparation;
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

interface RunningWorker {
  outcomes: Promise<FoldOutcome[]>;
  /** Sends the preparation the worker waits for. */
  prepared: (prepared: SharedPreparation) => void;
  /** Ends the thread (after its outcomes, or when this thread failed first). */
  stop: () => void;
}

function runInWorker(job: FoldJob, progress: (message: string) => void): RunningWorker {
  const worker = startWorker(job);
  let stopped = false;
  const outcomes = new Promise<FoldOutcome[]>((resolve, reject) => {
    worker.on('message', (message: FoldMessage) => {
      if ('progress' in message) progress(message.progress);
      else if ('outcomes' in message) resolve(message.outcomes);
      else reject(new Error(message.error));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (code !== 0 && !stopped) reject(new Error(`fold worker exited with code ${code}`));
    });
  });
  // A rejected worker must not go unobserved while this thread is busy fitting.
  outcomes.catch(() => {});
  return {
    outcomes,
    prepared: (prepared) => worker.postMessage({ prepared } satisfies PrepareMessage),
    stop: () => {
      stopped = true;
      void worker.terminate();
    },
  };
}

/**
 * The folds a thread fits: job 0 is the final model (always this thread's), job k+1 fold k, and
 * job j runs on thread j mod threads. Five folds and the final model on two threads: three each.
 */
export function foldsOfThread(thread: number, threads: number, foldCount: number): number[] {
  return Array.from({ length: foldCount }, (_, k) => k).filter((k) => (k + 1) % threads === thread);
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
  const asked = options.folds ?? DEFAULT_TRAIN.folds;
  // prepareTraining refuses a bad fold count; until it has, no worker is started for one
  const foldCount = Number.isInteger(asked) && asked >= 2 && asked <= MAX_FOLDS ? asked : 0;
  const threads = Math.max(1, Math.min(workers + 1, foldCount));
  const running = Array.from({ length: threads - 1 }, (_, w) =>
    runInWorker({ options: plain, folds: foldsOfThread(w + 1, threads, foldCount) }, progress),
  );
  try {
    const prep = prepareTraining(data, options);
    for (const w of running) w.prepared(sharedPreparation(prep));
    const outcomes: FoldOutcome[] = [];
    for (const k of foldsOfThread(0, threads, prep.folds ? foldCount : 0)) {
      progress(`fold ${k + 1}/${foldCount}: binning and fitting`);
      outcomes.push(runFold(prep, k));
    }
    progress('final model on all rows');
    const final = fitFinal(prep);
    for (const w of running) outcomes.push(...(await w.outcomes));
    return finishTraining(prep, outcomes, final);
  } finally {
    for (const w of running) w.stop();
  }
}
