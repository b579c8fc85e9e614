/**
 * The load of a rehearsal run: tagged orders sent to a running API in an open loop (each request
 * leaves when it is due, whether or not earlier ones have answered, so a slow system shows as
 * latency and backlog instead of quietly lowering the load), one fresh tag per request. Every
 * second is summed up, the guard rails are checked, and the caller records the second.
 */
import { signAccessToken } from '../api/auth.ts';
import type { SampleRow } from '../store/rehearsals.ts';
import { percentile } from './percentile.ts';
import { type GuardRails, guardRailCrossed, type Phase, rateAt, type SecondFigures } from './profile.ts';
import type { Signals } from './signals.ts';
import { mintTag, newNonce, REHEARSAL_TAG_HEADER } from './tag.ts';

/** Requests in flight at once; past it a due request is skipped (the generator is the limit). */
export const MAX_IN_FLIGHT = 512;
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

class Sender {
  private inFlight = 0;
  peakInFlight = 0;
  private next = 0;
  private readonly tokens = new Map<bigint, string>();
  bucket = emptyBucket();
  skipped = 0;
  sent = 0;

  constructor(private readonly target: LoadTarget) {}

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
    fetch(`${t.apiUrl}/v1/orders${t.orderMode ? `?mode=${t.orderMode}` : ''}`, {
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
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
      .then(async (res) => {
        await res.arrayBuffer();
        this.finish(started, res.status < 300 ? 'accepted' : res.status < 500 ? 'refused' : 'failed');
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
 * Runs the profile against the API. `onSecond` gets every finished second (with the signals read
 * at its end) before the next begins; its promise is awaited, so a slow recorder slows the clock,
 * never loses a second.
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
  let stopReason: string | undefined;
  let second = 0;
  for (; ; second++) {
    const due = rateAt(phases, second);
    if (!due) break;
    const startMs = performance.now();
    let sentThisSecond = 0;
    while (performance.now() - startMs < 1000) {
      const shouldHave = Math.floor(((performance.now() - startMs) / 1000) * due.perS);
      while (sentThisSecond < Math.min(shouldHave, due.perS)) {
        sender.send();
        sentThisSecond += 1;
      }
      await sleep(TICK_MS);
    }
    while (sentThisSecond < due.perS) {
      sender.send();
      sentThisSecond += 1;
    }
    const bucket = sender.takeBucket();
    const sorted = bucket.latenciesUs.sort((a, b) => a - b);
    const signals = await readSignals();
    const sample: SecondSample = {
      secondIndex: second,
      phase: due.phase,
      targetPerS: due.perS,
      sent: bucket.sent,
      accepted: bucket.accepted,
      refused: bucket.refused,
      failed: bucket.failed,
      p50Us: sorted.length === 0 ? null : percentile(sorted, 50),
      p99Us: sorted.length === 0 ? null : percentile(sorted, 99),
      ...signals,
    };
    await onSecond(sample);
    recent.push({
      sent: bucket.accepted + bucket.refused + bucket.failed,
      failed: bucket.failed,
      p99Ms: sample.p99Us === null ? null : sample.p99Us / 1000,
      backlog: signals.backlog,
    });
    stopReason = guardRailCrossed(rails, recent);
    if (stopReason) {
      second += 1;
      break;
    }
  }
  // let what is in flight answer, so its orders are counted, up to one request's timeout
  const drainUntil = performance.now() + REQUEST_TIMEOUT_MS;
  while (!sender.idle && performance.now() < drainUntil) await sleep(TICK_MS * 4);
  const cpu = process.cpuUsage(cpuBefore);
  return {
    seconds: second,
    sent: sender.sent,
    skipped: sender.skipped,
    stopReason,
    wallSeconds: Number(((performance.now() - wallStartMs) / 1000).toFixed(3)),
    generatorCpuS: Number(((cpu.user + cpu.system) / 1e6).toFixed(3)),
    peakInFlight: sender.peakInFlight,
  };
}
