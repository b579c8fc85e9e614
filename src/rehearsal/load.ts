/**
 * The load of a rehearsal run: tagged orders sent to a running API in an open loop (each request
 * leaves when it is due, whether or not earlier ones have answered, so a slow system shows as
 * latency and backlog instead of quietly lowering the load), one fresh tag per request. Every
 * second is summed up, the guard rails are checked, and the caller records the second.
 */
import { Pool } from 'undici';
import { signAccessToken } from '../api/auth.ts';
import type { SampleRow } from '../store/rehearsals.ts';
import { percentile } from './percentile.ts';
import { type GuardRails, guardRailCrossed, type Phase, rateAt, type SecondFigures } from './profile.ts';
import type { Signals } from './signals.ts';
import { mintTag, newNonce, REHEARSAL_TAG_HEADER } from './tag.ts';

/** Requests in flight at once; past it a due request is skipped (the generator is the limit). */
export const MAX_IN_FLIGHT = 512;
/**
 * Keep-alive connections to the API; requests past them wait in the client (their latency counts
 * from when they were due). bench:flash's generator holds as many, so the two measure alike.
 */
export const MAX_CONNECTIONS = 64;
export const REQUEST_TIMEOUT_MS = 10_000;
/** How often the loop looks at what is due. */
const TICK_MS = 5;
const TOKEN_TTL_S = 3_600;
/** Tags live a little longer than a request may take. */
const TAG_LIFETIME_MS = REQUEST_TIMEOUT_MS + 5_000;

/** How the API takes an order (`?mode=`): queued through NATS, or settled in the request. */
export type OrderMode = 'queued' | 'sync';

export interface LoadTarget {
  apiUrl: string;
  /** Without it the deployment's FENQI_SALE_MODE decides, as for its customers. */
  orderMode?: OrderMode;
  rehearsalId: string;
  rehearsalKey: Buffer;
  tokenSecret: Buffer;
  customers: readonly bigint[];
  goods: readonly { goodsId: bigint; productId: bigint; tenor: number }[];
}

/** A finished second, as it is stored (rehearsal_samples). */
export type SecondSample = SampleRow;

export interface RunOutcome {
  seconds: number;
  sent: number;
  skipped: number;
  stopReason: string | undefined;
  /** Wall-clock seconds of the load (more than `seconds` when reading signals held the clock). */
  wallSeconds: number;
  /** CPU seconds this process spent generating the load: near one core, it is the limit. */
  generatorCpuS: number;
  /** The most requests in flight at once (MAX_IN_FLIGHT: due requests were skipped). */
  peakInFlight: number;
}

interface Bucket {
  sent: number;
  accepted: number;
  refused: number;
  failed: number;
  latenciesUs: number[];
}

const emptyBucket = (): Bucket => ({ sent: 0, accepted: 0, refused: 0, failed: 0, latenciesUs: [] });

/** Loopback only unless the operator says otherwise: a rehearsal is aimed, never sprayed. */
export function assertTargetAllowed(apiUrl: string, allowRemote: boolean): void {
  const host = new URL(apiUrl).hostname;
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
  if (!loopback && !allowRemote) {
    throw new Error(`${host} is not loopback; set FENQI_REHEARSAL_ALLOW_REMOTE=1 to rehearse against it`);
  }
}

/**
 * undici's pool, not the global fetch: fetch cost about 0.4 ms of CPU a request against 0.06 ms
 * here (measured on the same machine), so on a 2-core box the generator took a sixth of a core at
 * 400 orders/s from the API it measured, and could not send more than about 1,000 a second.
 */
class Sender {
  private inFlight = 0;
  peakInFlight = 0;
  private next = 0;
  private readonly tokens = new Map<bigint, string>();
  bucket = emptyBucket();
  skipped = 0;
  sent = 0;

  private readonly pool: Pool;
  private readonly path: string;

  constructor(private readonly target: LoadTarget) {
    const url = new URL(target.apiUrl);
    this.pool = new Pool(url.origin, { connections: MAX_CONNECTIONS, pipelining: 1 });
    const prefix = url.pathname.replace(/\/+$/, '');
    this.path = `${prefix}/v1/orders${target.orderMode ? `?mode=${target.orderMode}` : ''}`;
  }

  close(): Promise<void> {
    // past the drain's bound, what is still in flight is abandoned
    return this.idle ? this.pool.close() : this.pool.destroy();
  }

  get idle(): boolean {
    return this.inFlight === 0;
  }

  send(): void {
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.skipped += 1;
      return;
    }
    const t = this.target;
    const i = this.next++;
    const customerId = t.customers[i % t.customers.length]!;
    const goods = t.goods[i % t.goods.length]!;
    let token = this.tokens.get(customerId);
    if (!token) {
      token = signAccessToken(t.tokenSecret, { role: 'customer', id: customerId }, TOKEN_TTL_S);
      this.tokens.set(customerId, token);
    }
    this.inFlight += 1;
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
    this.sent += 1;
    this.bucket.sent += 1;
    const started = performance.now();
    this.pool
      .request({
        path: this.path,
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'idempotency-key': `rehearsal-${t.rehearsalId}-${newNonce()}`,
          'content-type': 'application/json',
          [REHEARSAL_TAG_HEADER]: mintTag(t.rehearsalKey, t.rehearsalId, Date.now(), TAG_LIFETIME_MS),
        },
        body: JSON.stringify({
          goods_id: String(goods.goodsId),
          product_id: String(goods.productId),
          tenor: goods.tenor,
        }),
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: REQUEST_TIMEOUT_MS,
      })
      .then(async (res) => {
        await res.body.dump();
        const status = res.statusCode;
        this.finish(started, status < 300 ? 'accepted' : status < 500 ? 'refused' : 'failed');
      })
      .catch(() => this.finish(started, 'failed'));
  }

  private finish(startedMs: number, outcome: 'accepted' | 'refused' | 'failed'): void {
    this.inFlight -= 1;
    this.bucket[outcome] += 1;
    this.bucket.latenciesUs.push(Math.round((performance.now() - startedMs) * 1000));
  }

  takeBucket(): Bucket {
    const b = this.bucket;
    this.bucket = emptyBucket();
    return b;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Finished seconds not yet recorded, at most: past it the recorder (signals, the sample's insert)
 * cannot keep up with the clock and the run stops rather than hold the seconds in memory.
 */
export const MAX_UNRECORDED_SECONDS = 30;

interface FinishedSecond {
  second: number;
  due: { phase: Phase['kind']; perS: number };
  bucket: Bucket;
}

/**
 * Sends along the profile on a fixed clock (second n is [start + n s, start + n + 1 s)), on a timer
 * of its own, and hands each finished second's bucket over at its boundary. Reading signals and
 * recording a second never holds the clock: they used to, and each second then lasted one second
 * plus the time to record the last, so the offered rate fell below the profile's and each stored
 * second counted the answers of more than a second (a run under load took twice its length).
 */
class Pacer {
  private readonly startMs = performance.now();
  private second = 0;
  private sentThisSecond = 0;
  private readonly finished: FinishedSecond[] = [];
  private wake: (() => void) | undefined;
  private done = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly sender: Sender,
    private readonly phases: readonly Phase[],
  ) {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.tick();
  }

  get unrecorded(): number {
    return this.finished.length;
  }

  private tick(): void {
    const now = performance.now();
    for (;;) {
      const due = rateAt(this.phases, this.second);
      if (!due) {
        this.stop();
        return;
      }
      const secondStartMs = this.startMs + this.second * 1000;
      const shouldHave = Math.floor(((now - secondStartMs) / 1000) * due.perS);
      while (this.sentThisSecond < Math.min(shouldHave, due.perS)) {
        this.sender.send();
        this.sentThisSecond += 1;
      }
      if (now < secondStartMs + 1000) return;
      this.finished.push({ second: this.second, due, bucket: this.sender.takeBucket() });
      this.second += 1;
      this.sentThisSecond = 0;
      this.wake?.();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.done = true;
    this.wake?.();
  }

  /** The next finished second, waiting for its boundary; undefined once the profile is over. */
  async next(): Promise<FinishedSecond | undefined> {
    while (this.finished.length === 0 && !this.done) {
      await new Promise<void>((r) => {
        this.wake = r;
      });
      this.wake = undefined;
    }
    return this.finished.shift();
  }
}

/**
 * Runs the profile against the API. `onSecond` gets every finished second (with the signals read
 * just after its end), in order; the clock goes on meanwhile, and a guard rail crossed stops the
 * run within the second being sent.
 */
export async function runLoad(
  target: LoadTarget,
  phases: readonly Phase[],
  rails: GuardRails,
  readSignals: () => Promise<Signals>,
  onSecond: (sample: SecondSample) => Promise<void>,
): Promise<RunOutcome> {
  const sender = new Sender(target);
  const cpuBefore = process.cpuUsage();
  const wallStartMs = performance.now();
  const recent: SecondFigures[] = [];
  const pacer = new Pacer(sender, phases);
  let stopReason: string | undefined;
  let seconds = 0;
  for (let f = await pacer.next(); f; f = await pacer.next()) {
    const sorted = f.bucket.latenciesUs.sort((a, b) => a - b);
    const signals = await readSignals();
    const sample: SecondSample = {
      secondIndex: f.second,
      phase: f.due.phase,
      targetPerS: f.due.perS,
      sent: f.bucket.sent,
      accepted: f.bucket.accepted,
      refused: f.bucket.refused,
      failed: f.bucket.failed,
      p50Us: sorted.length === 0 ? null : percentile(sorted, 50),
      p99Us: sorted.length === 0 ? null : percentile(sorted, 99),
      ...signals,
    };
    await onSecond(sample);
    seconds = f.second + 1;
    recent.push({
      sent: f.bucket.accepted + f.bucket.refused + f.bucket.failed,
      failed: f.bucket.failed,
      p99Ms: sample.p99Us === null ? null : sample.p99Us / 1000,
      backlog: signals.backlog,
    });
    stopReason = guardRailCrossed(rails, recent);
    if (!stopReason && pacer.unrecorded > MAX_UNRECORDED_SECONDS) {
      stopReason = `the recorder fell more than ${MAX_UNRECORDED_SECONDS} s behind the clock`;
    }
    if (stopReason) break;
  }
  pacer.stop();
  // let what is in flight answer, so its orders are counted, up to one request's timeout
  const drainUntil = performance.now() + REQUEST_TIMEOUT_MS;
  while (!sender.idle && performance.now() < drainUntil) await sleep(TICK_MS * 4);
  await sender.close().catch(() => undefined);
  const cpu = process.cpuUsage(cpuBefore);
  return {
    seconds,
    sent: sender.sent,
    skipped: sender.skipped,
    stopReason,
    wallSeconds: Number(((performance.now() - wallStartMs) / 1000).toFixed(3)),
    generatorCpuS: Number(((cpu.user + cpu.system) / 1e6).toFixed(3)),
    peakInFlight: sender.peakInFlight,
  };
}
