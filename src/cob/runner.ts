/**
 * Close of business asked for through the API (POST /v1/ops/cob): a run started in this process,
 * in the background, with its progress kept for whoever polls. The embedded platform holds its data
 * directory alone, so this is how an operator closes a date there without stopping it; on a real
 * deployment it is the console's and the CLI's way to close a date by hand.
 *
 * A date runs at most once at a time in this process. Across processes the run is safe anyway:
 * every loan is stamped for the date and every entry has its event key (run.ts).
 */
import type { Logger } from '../logger.ts';
import { CobRefusedError, findRun } from '../store/cob.ts';
import type { Sql } from '../store/db.ts';
import { type CobProgress, type CobSummary, runCob } from './run.ts';
import type { CobStep } from './steps.ts';

/** Runs remembered per process (finished ones are dropped oldest first). */
export const COB_RUNS_REMEMBERED_MAX = 64;

export type CobRunState =
  | { state: 'running'; date: string; progress: CobProgress | null }
  | { state: 'completed'; date: string; summary: CobSummary }
  | { state: 'refused'; date: string; code: CobRefusedError['code']; message: string }
  | { state: 'failed'; date: string; message: string };

export interface CobRequest {
  date: string;
  force: boolean;
}

export class CobRunner {
  readonly #runs = new Map<string, { state: CobRunState; done: Promise<CobRunState> }>();

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
    private readonly steps: readonly CobStep[] = [],
  ) {}

  /** Starts the date's close unless this process is already running it; the run's entry either way. */
  start(request: CobRequest): { state: CobRunState; done: Promise<CobRunState> } {
    const current = this.#runs.get(request.date);
    if (current?.state.state === 'running') return current;
    const entry = {
      state: { state: 'running', date: request.date, progress: null } as CobRunState,
      done: Promise.resolve<CobRunState>({ state: 'failed', date: request.date, message: 'not started' }),
    };
    entry.done = this.#run(request, entry);
    this.#remember(request.date, entry);
    return entry;
  }

  /** What this process knows of the date's run, else what the database recorded. */
  async status(date: string): Promise<CobRunState | { state: 'not_started'; date: string } | RecordedRun> {
    const known = this.#runs.get(date);
    if (known) return known.state;
    const run = await findRun(this.sql, date);
    if (!run) return { state: 'not_started', date };
    return { state: 'recorded', date, run };
  }

  async #run(request: CobRequest, entry: { state: CobRunState }): Promise<CobRunState> {
    try {
      const summary = await runCob(this.sql, {
        date: request.date,
        force: request.force,
        steps: this.steps,
        onProgress: (progress) => {
          entry.state = { state: 'running', date: request.date, progress };
        },
      });
      entry.state = { state: 'completed', date: request.date, summary };
    } catch (err) {
      entry.state =
        err instanceof CobRefusedError
          ? { state: 'refused', date: request.date, code: err.code, message: err.message }
          : {
              state: 'failed',
              date: request.date,
              message: 'the close stopped; it resumes where it left off when started again',
            };
      if (!(err instanceof CobRefusedError)) {
        this.logger.error({ err: (err as Error).message, date: request.date }, 'close of business failed');
      }
    }
    return entry.state;
  }

  #remember(date: string, entry: { state: CobRunState; done: Promise<CobRunState> }): void {
    this.#runs.delete(date);
    this.#runs.set(date, entry);
    for (const [key, value] of this.#runs) {
      if (this.#runs.size <= COB_RUNS_REMEMBERED_MAX) break;
      if (value.state.state !== 'running') this.#runs.delete(key);
    }
  }
}

export interface RecordedRun {
  state: 'recorded';
  date: string;
  run: NonNullable<Awaited<ReturnType<typeof findRun>>>;
}
