/**
 * The command line talking to a running fenqi API as a staff user (`fenqi cob --api`, `fenqi loan`):
 * log in with the user's password (FENQI_PASSWORD, or one line on standard input), then call routes
 * with the bearer token. A refusal is the API's own message and code, printed as a usage error.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './usage-error.ts';

/** Per request; a long operation (a close) is followed by polling, not one long request. */
export const API_REQUEST_TIMEOUT_MS = 30_000;
/** A password read from standard input is one line; anything longer is not a password. */
export const PASSWORD_MAX_BYTES = 1_024;

function password(): string {
  const fromEnv = process.env.FENQI_PASSWORD;
  if (fromEnv) return fromEnv;
  if (process.stdin.isTTY) throw new UsageError('set FENQI_PASSWORD or pipe the password on standard input');
  const line = readFileSync(0).subarray(0, PASSWORD_MAX_BYTES).toString('utf8').split('\n')[0]!.trim();
  if (!line) throw new UsageError('no password on standard input');
  return line;
}

export async function call<T>(
  apiUrl: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(new URL(path, apiUrl), {
      ...init,
      signal: AbortSignal.timeout(API_REQUEST_TIMEOUT_MS),
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

export async function logIn(apiUrl: string, username: string): Promise<string> {
  const { body } = await call<{ access_token: string }>(apiUrl, '/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: password() }),
  });
  return body.access_token;
}
