/**
 * The pages' only way to the API: JSON in and out, the bearer token from sessionStorage, the one
 * error shape ({error:{code,message}}) turned into an ApiError the page shows as code + message,
 * and money-moving actions that carry one Idempotency-Key across every retry of the same action.
 */

/** Automatic retries of a request that may not have arrived (network failure, 503). */
export const RETRIES_MAX = 2;
/** Longest wait before an automatic retry, whatever Retry-After says; the person is waiting. */
export const RETRY_WAIT_MAX_MS = 3000;

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the request never got an answer
   * @param {string} code stable UPPER_SNAKE code
   * @param {string} message for people
   * @param {Record<string, unknown>} [details]
   */
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Worth sending again with the same key: no answer, or the server asked to retry later. */
  get retryable() {
    return this.status === 0 || this.status === 503 || this.status === 429;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A client for one area of the site; its token lives under `tokenKey` in sessionStorage, so it is
 * gone when the tab closes and never shared with another site or tab.
 * @param {{ tokenKey: string, onUnauthorized?: () => void }} options
 */
export function createClient({ tokenKey, onUnauthorized }) {
  const session = {
    get token() {
      return sessionStorage.getItem(tokenKey);
    },
    get role() {
      return sessionStorage.getItem(`${tokenKey}.role`);
    },
    save(token, role) {
      sessionStorage.setItem(tokenKey, token);
      sessionStorage.setItem(`${tokenKey}.role`, role);
    },
    clear() {
      sessionStorage.removeItem(tokenKey);
      sessionStorage.removeItem(`${tokenKey}.role`);
    },
  };

  /** One HTTP exchange; throws ApiError for every failure, status 0 when nothing came back. */
  async function once(method, path, body, headers) {
    const init = { method, headers: { accept: 'application/json', ...headers } };
    if (session.token) init.headers.authorization = `Bearer ${session.token}`;
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch {
      throw new ApiError(
        0,
        'NETWORK_ERROR',
        'the server could not be reached; check the connection and retry',
      );
    }
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.ok) return { status: res.status, body: json };
    const e = json?.error;
    const err = e
      ? new ApiError(res.status, String(e.code), String(e.message), e.details ?? {})
      : new ApiError(res.status, `HTTP_${res.status}`, res.statusText || 'the server refused the request');
    err.retryAfterS = Number(res.headers.get('retry-after')) || 1;
    if (res.status === 401 && session.token) {
      session.clear();
      onUnauthorized?.();
    }
    throw err;
  }

  /**
   * One request; a read, or a write that carries an Idempotency-Key, is sent again (same headers)
   * while the answer says it may not have arrived. Other writes (a log-in, a credit application)
   * are sent once: sending them again could do them twice.
   */
  async function send(method, path, body, headers = {}) {
    const safe = method === 'GET' || 'idempotency-key' in headers;
    for (let attempt = 0; ; attempt++) {
      try {
        return await once(method, path, body, headers);
      } catch (err) {
        if (!safe || !(err instanceof ApiError) || !err.retryable || attempt >= RETRIES_MAX) throw err;
        await sleep(Math.min(RETRY_WAIT_MAX_MS, (err.retryAfterS ?? 1) * 1000));
      }
    }
  }

  return {
    session,
    get: async (path) => (await send('GET', path)).body,
    post: async (path, body) => (await send('POST', path, body)).body,
    /** The whole answer (status and body), for callers that tell 201 from 202. */
    send,
  };
}

/**
 * A money-moving action (an order, a repayment): one Idempotency-Key for as long as it is the same
 * request, so sending it again after a timeout, a 503 or a second click has exactly one effect. A
 * final answer (success, or a refusal that is not "retry later") ends the action: what the person
 * sends next is a new action with a new key.
 */
export function moneyAction(client) {
  let pending; // { fingerprint, key }
  return {
    /** The key the next send of this request will carry (for tests and support). */
    get key() {
      return pending?.key;
    },
    async send(method, path, body) {
      const fingerprint = `${method} ${path} ${JSON.stringify(body ?? null)}`;
      if (pending?.fingerprint !== fingerprint) pending = { fingerprint, key: crypto.randomUUID() };
      try {
        const answer = await client.send(method, path, body, { 'idempotency-key': pending.key });
        pending = undefined;
        return answer;
      } catch (err) {
        if (!(err instanceof ApiError) || !err.retryable) pending = undefined;
        throw err;
      }
    },
  };
}
