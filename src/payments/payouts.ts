/**
 * The payout rail that pays merchants their settlements. Requests are idempotent by settlement id:
 * the rail never pays one settlement id twice, answers a resend with the payment it made, and tells
 * the status of an id at any time, which is how a timed-out payout is resolved (never by sending a
 * second payment). A refused payout ('failed') may be sent again under the same id and is decided
 * afresh (a bank that was unavailable may accept the retry).
 *
 * Two implementations: SimulatedPayouts, a deterministic simulated bank (the outcome of each attempt
 * depends only on the seed, the settlement id and the attempt number) with failure and timeout modes,
 * in process; and HttpPayoutRail, a client of a rail over HTTP (FENQI_PAYOUT_URL), which is how a
 * separate process (the simulator served by servePayoutSimulator, or a real bank's adapter) keeps
 * its record of what it paid when a fenqi process dies mid-batch.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface PayoutRequest {
  settlementId: bigint;
  merchantId: bigint;
  amountMinor: bigint;
  currency: string;
  /** The day the merchant is paid (T+1 of the sales), YYYY-MM-DD. */
  valueDate: string;
}

export type PayoutOutcome = { status: 'paid'; reference: string } | { status: 'failed'; reason: string };
export type PayoutStatus = PayoutOutcome | { status: 'unknown' };

export class PayoutTimeout extends Error {
  override name = 'PayoutTimeout';
}

export interface PayoutRail {
  /** Pays (or re-sends) a settlement; throws PayoutTimeout when no answer came: outcome unknown. */
  send(request: PayoutRequest): Promise<PayoutOutcome>;
  /** What the rail knows of a settlement id; `unknown` when it never received it. */
  status(settlementId: bigint): Promise<PayoutStatus>;
}

/** How long the HTTP client waits for the rail before the outcome is unknown. */
export const PAYOUT_TIMEOUT_MS = 5_000;
/** Refusal reasons a simulated bank gives. */
export const SIMULATED_PAYOUT_FAILURE = 'bank_unavailable';

export interface SimulatedPayoutsOptions {
  seed?: number;
  latencyMs?: number;
  /** Share of attempts the bank refuses (0..1); a retry of the same id is decided afresh. */
  failureRate?: number;
  /** Share of attempts the caller gets no answer to (0..1); the bank decides (and pays) anyway. */
  timeoutRate?: number;
}

interface Decided {
  outcome: PayoutOutcome;
  amountMinor: bigint;
  attempts: number;
}

export class SimulatedPayouts implements PayoutRail {
  readonly seed: number;
  readonly latencyMs: number;
  readonly failureRate: number;
  readonly timeoutRate: number;
  readonly #decided = new Map<string, Decided>();
  /** Every request received, paid or not (resends included). */
  sends = 0;
  /** Attempts refused, and attempts decided but left unanswered (the caller timed out). */
  refusals = 0;
  unanswered = 0;
  /** Money actually paid, by settlement id: the proof that nothing is paid twice. */
  readonly paidMinor = new Map<string, bigint>();
  /** Called on each send before it is decided (tests use it to kill a caller mid-batch). */
  onSend: ((request: PayoutRequest) => void | Promise<void>) | undefined;

  constructor(options: SimulatedPayoutsOptions = {}) {
    this.seed = options.seed ?? 1;
    this.latencyMs = options.latencyMs ?? 0;
    this.failureRate = options.failureRate ?? 0;
    this.timeoutRate = options.timeoutRate ?? 0;
  }

  private draw(id: string, salt: string): number {
    return createHash('sha256').update(`${this.seed}:${id}:${salt}`).digest().readUInt32BE(0) / 2 ** 32;
  }

  private async wait(): Promise<void> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
  }

  async send(request: PayoutRequest): Promise<PayoutOutcome> {
    this.sends++;
    await this.onSend?.(request);
    await this.wait();
    const id = request.settlementId.toString();
    const known = this.#decided.get(id);
    if (known && known.amountMinor !== request.amountMinor) {
      return { status: 'failed', reason: 'amount_mismatch' };
    }
    if (known?.outcome.status === 'paid') return known.outcome;
    const attempts = (known?.attempts ?? 0) + 1;
    const outcome: PayoutOutcome =
      this.draw(id, `fail:${attempts}`) < this.failureRate
        ? { status: 'failed', reason: SIMULATED_PAYOUT_FAILURE }
        : { status: 'paid', reference: `SIMPAY-${id}` };
    this.#decided.set(id, { outcome, amountMinor: request.amountMinor, attempts });
    if (outcome.status === 'paid') this.paidMinor.set(id, request.amountMinor);
    else this.refusals++;
    if (this.draw(id, `timeout:${attempts}`) < this.timeoutRate) {
      this.unanswered++;
      throw new PayoutTimeout(`the payout rail did not answer for settlement ${id}`);
    }
    return outcome;
  }

  async status(settlementId: bigint): Promise<PayoutStatus> {
    await this.wait();
    return this.#decided.get(settlementId.toString())?.outcome ?? { status: 'unknown' };
  }

  /** Payments made and their total. */
  totals(): { payouts: number; amountMinor: bigint } {
    let amountMinor = 0n;
    for (const v of this.paidMinor.values()) amountMinor += v;
    return { payouts: this.paidMinor.size, amountMinor };
  }
}

const ID_TEXT = /^\d{1,19}$/;
/** Request bodies of the simulator's HTTP face are small; anything larger is refused. */
const MAX_PAYOUT_BODY_BYTES = 4_096;

function outcomeJson(o: PayoutStatus): string {
  return JSON.stringify(o);
}

/**
 * Serves a simulated bank over HTTP on loopback (POST /payouts, GET /payouts/{id}): a process of
 * its own that outlives the fenqi processes paying through it. A timeout mode answers 504.
 */
export async function servePayoutSimulator(
  rail: SimulatedPayouts,
  port = 0,
): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const reply = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    };
    const get = req.method === 'GET' ? /^\/payouts\/(\d{1,19})$/.exec(req.url ?? '') : null;
    if (get) {
      void rail.status(BigInt(get[1]!)).then((s) => reply(200, outcomeJson(s)));
      return;
    }
    if (req.method !== 'POST' || req.url !== '/payouts') return reply(404, '{"error":"not found"}');
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
      if (body.length > MAX_PAYOUT_BODY_BYTES) req.destroy();
    });
    req.on('end', () => {
      const parsed = parsePayoutRequest(body);
      if (!parsed) return reply(400, '{"error":"bad payout request"}');
      rail.send(parsed).then(
        (o) => reply(200, outcomeJson(o)),
        (err: unknown) => reply(err instanceof PayoutTimeout ? 504 : 500, '{"error":"no answer"}'),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${boundPort}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parsePayoutRequest(body: string): PayoutRequest | undefined {
  try {
    const v = JSON.parse(body) as Record<string, unknown>;
    const texts = [v.settlement_id, v.merchant_id, v.amount_minor];
    if (!texts.every((t) => typeof t === 'string' && ID_TEXT.test(t))) return undefined;
    if (typeof v.currency !== 'string' || typeof v.value_date !== 'string') return undefined;
    return {
      settlementId: BigInt(v.settlement_id as string),
      merchantId: BigInt(v.merchant_id as string),
      amountMinor: BigInt(v.amount_minor as string),
      currency: v.currency,
      valueDate: v.value_date,
    };
  } catch {
    return undefined;
  }
}

function outcomeOf(v: unknown): PayoutStatus {
  const o = v as { status?: unknown; reference?: unknown; reason?: unknown };
  if (o.status === 'paid' && typeof o.reference === 'string')
    return { status: 'paid', reference: o.reference };
  if (o.status === 'failed' && typeof o.reason === 'string') return { status: 'failed', reason: o.reason };
  if (o.status === 'unknown') return { status: 'unknown' };
  throw new Error('the payout rail answered something unrecognisable');
}

/** A payout rail over HTTP; a lost connection or no answer in time is an unknown outcome. */
export class HttpPayoutRail implements PayoutRail {
  constructor(
    readonly baseUrl: string,
    readonly timeoutMs = PAYOUT_TIMEOUT_MS,
  ) {}

  async #call(path: string, init: RequestInit): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new PayoutTimeout(`the payout rail did not answer: ${(err as Error).name}`);
    }
    if (res.status === 504 || res.status >= 500)
      throw new PayoutTimeout(`the payout rail answered ${res.status}`);
    if (res.status !== 200) throw new Error(`the payout rail refused the request: ${res.status}`);
    return res.json();
  }

  async send(r: PayoutRequest): Promise<PayoutOutcome> {
    const body = JSON.stringify({
      settlement_id: r.settlementId.toString(),
      merchant_id: r.merchantId.toString(),
      amount_minor: r.amountMinor.toString(),
      currency: r.currency,
      value_date: r.valueDate,
    });
    const o = outcomeOf(
      await this.#call('/payouts', { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
    );
    if (o.status === 'unknown') throw new PayoutTimeout('the payout rail lost the request');
    return o;
  }

  async status(settlementId: bigint): Promise<PayoutStatus> {
    return outcomeOf(await this.#call(`/payouts/${settlementId}`, { method: 'GET' }));
  }
}
