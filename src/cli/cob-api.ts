/**
 * `fenqi cob --api URL`: close a date through a running fenqi API instead of opening the database
 * here. The embedded platform holds its data directory alone (store/data-dir.ts), so this is how a
 * date is closed beside `npm start` without stopping it; on a real deployment it closes a date as
 * an ops user, with the API's own authorisation.
 */
import { readFileSync } from 'node:fs';
import type { CobProgress, CobSummary } from '../cob/run.ts';
import { type CobSummaryJson, cobSummaryFromJson } from '../cob/view.ts';
import { UsageError } from './usage-error.ts';

/** How often the run's status is polled while it runs. */
export const COB_POLL_INTERVAL_MS = 1_000;
/** Per request; the close itself may take much longer and is followed by polling. */
export const COB_API_REQUEST_TIMEOUT_MS = 30_000;
/** A password read from standard input is one line; anything longer is not a password. */
export const PASSWORD_MAX_BYTES = 1_024;

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

function password(): string {
  const fromEnv = process.env.FENQI_PASSWORD;
  if (fromEnv) return fromEnv;
  if (process.stdin.isTTY) throw new UsageError('set FENQI_PASSWORD or pipe the password on standard input');
  const line = readFileSync(0).subarray(0, PASSWORD_MAX_BYTES).toString('utf8').split('\n')[0]!.trim();
  if (!line) throw new UsageError('no password on standard input');
  return line;
}

async function call<T>(
  apiUrl: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(new URL(path, apiUrl), {
      ...init,
      signal: AbortSignal.timeout(COB_API_REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    throw new UsageError(`cannot reach the API at ${apiUrl}: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as T & { error?: { code: string; message: string } };
  if (res.status >= 400) {
    const error = body.error ?? { code: String(res.status), message: res.statusText };
    throw new UsageError(`${error.message} (${error.code})`);
  }
  return { status: res.status, body };
}

async function logIn(apiUrl: string, username: string): Promise<string> {
  const { body } = await call<{ access_token: string }>(apiUrl, '/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: password() }),
  });
  return body.access_token;
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
