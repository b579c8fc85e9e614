/**
 * `fenqi cob --api URL`: close a date through a running fenqi API instead of opening the database
 * here. The embedded platform holds its data directory alone (store/data-dir.ts), so this is how a
 * date is closed beside `npm start` without stopping it; on a real deployment it closes a date as
 * an ops user, with the API's own authorisation.
 */
import type { CobProgress, CobSummary } from '../cob/run.ts';
import { type CobSummaryJson, cobSummaryFromJson } from '../cob/view.ts';
import { call, logIn } from './api-client.ts';

/** How often the run's status is polled while it runs. */
export const COB_POLL_INTERVAL_MS = 1_000;

export interface CobThroughApi {
  apiUrl: string;
  username: string;
  date: string;
  force: boolean;
  onProgress: (progress: CobProgress) => void;
}

interface StatusAnswer {
  status: 'not_started' | 'running' | 'completed' | 'failed';
  loans_done: number;
  loans_total: number;
  eta_s: number | null;
  summary: CobSummaryJson | null;
  message: string | null;
  status_url: string;
}

function progressOf(date: string, answer: StatusAnswer, startedMs: number): CobProgress {
  const elapsedMs = Date.now() - startedMs;
  return {
    date,
    loansDone: answer.loans_done,
    loansTotal: answer.loans_total,
    elapsedMs,
    loansPerS: elapsedMs > 0 ? (answer.loans_done * 1000) / elapsedMs : 0,
    etaS: answer.eta_s,
  };
}

/** Starts the close, follows it to the end with progress, and returns its summary. */
export async function cobThroughApi(options: CobThroughApi): Promise<CobSummary> {
  const headers = {
    'content-type': 'application/json',
    authorization: `Bearer ${await logIn(options.apiUrl, options.username)}`,
  };
  const startedMs = Date.now();
  let { body: answer } = await call<StatusAnswer>(options.apiUrl, '/v1/ops/cob', {
    method: 'POST',
    headers,
    body: JSON.stringify({ date: options.date, force: options.force }),
  });
  while (answer.status === 'running') {
    options.onProgress(progressOf(options.date, answer, startedMs));
    await new Promise((resolve) => setTimeout(resolve, COB_POLL_INTERVAL_MS));
    ({ body: answer } = await call<StatusAnswer>(options.apiUrl, answer.status_url, { headers }));
  }
  if (answer.status !== 'completed' || !answer.summary) {
    throw new Error(`the close of ${options.date} did not complete: ${answer.message ?? answer.status}`);
  }
  return cobSummaryFromJson(answer.summary);
}
