/**
 * The collection gateway that debits a customer's card on file (automatic debit). Like the payout
 * gateway (gateway.ts), a charge is idempotent by its debit attempt id: charging the same id again
 * takes the money once and answers the first outcome; `status` tells what the bank decided for an
 * id, which is how a timed-out charge is resolved (never by a second charge of a new id).
 *
 * SimulatedCollectionGateway ships for development and tests: deterministic from its seed (the
 * outcome of an attempt depends only on the seed, the attempt id and the configured rates), with
 * the failure modes a card network has: insufficient funds, card blocked, and a timeout after which
 * the bank decided anyway. With a journal file it keeps what it decided across processes (the bank
 * outlives a worker SIGKILLed mid-batch), one JSON line per decision, written synchronously.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { GatewayTimeout } from './gateway.ts';

export type DebitFailureReason = 'insufficient_funds' | 'card_blocked';

export interface DebitRequest {
  attemptId: bigint;
  customerId: bigint;
  /** The gateway's token for the card; never a card number. */
  cardToken: string;
  amountMinor: bigint;
  currency: string;
}

export type DebitOutcome =
  | { status: 'succeeded'; reference: string }
  | { status: 'failed'; reason: DebitFailureReason };
export type DebitStatus = DebitOutcome | { status: 'unknown' };

export interface CollectionGateway {
  /** Charges (or re-charges) an attempt id; throws GatewayTimeout when no answer came in time. */
  charge(request: DebitRequest): Promise<DebitOutcome>;
  /** What the bank decided for an attempt id; `unknown` when it never received it. */
  status(attemptId: bigint): Promise<DebitStatus>;
  /** A token for a card number (what a card vault answers); the number itself is never stored. */
  tokenize(cardNumber: string): Promise<string>;
}

export interface SimulatedCollectionOptions {
  seed?: number;
  /** Shares (0..1) of attempts refused for each reason, and of charges whose answer is lost. */
  insufficientFundsRate?: number;
  cardBlockedRate?: number;
  timeoutRate?: number;
  /** How long the simulated bank takes to answer a charge. */
  latencyMs?: number;
  /** Keep decisions here (JSON lines), so a restarted process sees what the bank already did. */
  journalFile?: string;
}

interface Decision {
  id: string;
  amountMinor: string;
  outcome: DebitOutcome;
}

export class SimulatedCollectionGateway implements CollectionGateway {
  readonly seed: number;
  private readonly rates: { insufficient: number; blocked: number; timeout: number };
  private readonly decided = new Map<string, Decision>();
  /** Charge calls received, including repeats of an id (a repeat takes no money). */
  charges = 0;
  /** Charges whose answer was lost (the bank decided; only `status` tells the caller). */
  timeouts = 0;

  constructor(private readonly options: SimulatedCollectionOptions = {}) {
    this.seed = options.seed ?? 1;
    this.rates = {
      insufficient: options.insufficientFundsRate ?? 0,
      blocked: options.cardBlockedRate ?? 0,
      timeout: options.timeoutRate ?? 0,
    };
    if (options.journalFile && existsSync(options.journalFile)) {
      for (const line of readFileSync(options.journalFile, 'utf8').split('\n').filter(Boolean)) {
        const d = JSON.parse(line) as Decision;
        this.decided.set(d.id, d);
      }
    }
  }

  private draw(id: bigint, salt: string): number {
    return createHash('sha256').update(`${this.seed}:${id}:${salt}`).digest().readUInt32BE(0) / 2 ** 32;
  }

  async charge(request: DebitRequest): Promise<DebitOutcome> {
    this.charges++;
    if (this.options.latencyMs) await new Promise((r) => setTimeout(r, this.options.latencyMs));
    const id = request.attemptId.toString();
    const known = this.decided.get(id);
    if (known) return known.outcome;
    const r = this.draw(request.attemptId, 'outcome');
    const outcome: DebitOutcome =
      r < this.rates.insufficient
        ? { status: 'failed', reason: 'insufficient_funds' }
        : r < this.rates.insufficient + this.rates.blocked
          ? { status: 'failed', reason: 'card_blocked' }
          : { status: 'succeeded', reference: `SIMDEBIT-${id}` };
    const decision: Decision = { id, amountMinor: request.amountMinor.toString(), outcome };
    this.decided.set(id, decision);
    if (this.options.journalFile) appendFileSync(this.options.journalFile, `${JSON.stringify(decision)}\n`);
    if (this.draw(request.attemptId, 'timeout') < this.rates.timeout) {
      this.timeouts++;
      throw new GatewayTimeout(`collection gateway did not answer for attempt ${id}`);
    }
    return outcome;
  }

  async status(attemptId: bigint): Promise<DebitStatus> {
    return this.decided.get(attemptId.toString())?.outcome ?? { status: 'unknown' };
  }

  async tokenize(cardNumber: string): Promise<string> {
    return `simtok_${createHash('sha256').update(`${this.seed}:card:${cardNumber}`).digest('hex').slice(0, 32)}`;
  }

  /** Money taken, by attempt id (each id once, however often it was charged). */
  collected(): Map<string, bigint> {
    const out = new Map<string, bigint>();
    for (const d of this.decided.values())
      if (d.outcome.status === 'succeeded') out.set(d.id, BigInt(d.amountMinor));
    return out;
  }

  /** Attempts refused, by attempt id, with the reason the bank gave. */
  refusals(): Map<string, DebitFailureReason> {
    const out = new Map<string, DebitFailureReason>();
    for (const d of this.decided.values()) if (d.outcome.status === 'failed') out.set(d.id, d.outcome.reason);
    return out;
  }
}

/** The simulator's settings from the environment (FENQI_COLLECTION_SIM_*), for `fenqi worker`. */
export function collectionSimulatorFromEnv(env: NodeJS.ProcessEnv): SimulatedCollectionGateway {
  const rate = (name: string) => {
    const v = env[name];
    if (v === undefined || v === '') return 0;
    const n = Number(v);
    if (!(n >= 0 && n <= 1)) throw new RangeError(`${name} must be a share from 0 to 1`);
    return n;
  };
  return new SimulatedCollectionGateway({
    seed: env.FENQI_COLLECTION_SIM_SEED ? Number(env.FENQI_COLLECTION_SIM_SEED) : 1,
    insufficientFundsRate: rate('FENQI_COLLECTION_SIM_INSUFFICIENT_RATE'),
    cardBlockedRate: rate('FENQI_COLLECTION_SIM_BLOCKED_RATE'),
    timeoutRate: rate('FENQI_COLLECTION_SIM_TIMEOUT_RATE'),
    journalFile: env.FENQI_COLLECTION_SIM_JOURNAL || undefined,
    latencyMs: env.FENQI_COLLECTION_SIM_LATENCY_MS ? Number(env.FENQI_COLLECTION_SIM_LATENCY_MS) : 0,
  });
}
