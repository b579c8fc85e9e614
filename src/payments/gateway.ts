/**
 * The payment gateway that sends cash to a customer's bank card. Requests are idempotent by
 * disbursement id: sending the same id twice pays once and answers the first outcome, and the
 * status of an id can be asked at any time, which is how a timed-out request is resolved.
 *
 * SimulatedGateway ships for development and tests: deterministic from its seed (the outcome of a
 * disbursement depends only on the seed and its id), with configurable latency, failure rate and
 * timeout rate. A timeout means the caller got no answer; the simulated bank still decided, and
 * `status` tells. The process's gateway is built once, in services.ts.
 */
import { createHash } from 'node:crypto';

export interface DisbursementRequest {
  disbursementId: bigint;
  customerId: bigint;
  amountMinor: bigint;
  currency: string;
}

export type GatewayOutcome =
  | { status: 'succeeded'; reference: string }
  | { status: 'failed'; reason: string };
export type GatewayStatus = GatewayOutcome | { status: 'unknown' };

export class GatewayTimeout extends Error {
  override name = 'GatewayTimeout';
}

export interface PaymentGateway {
  /** Sends (or re-sends) a disbursement; throws GatewayTimeout when no answer came in time. */
  send(request: DisbursementRequest): Promise<GatewayOutcome>;
  /** What the gateway knows of a disbursement id; `unknown` when it never received it. */
  status(disbursementId: bigint): Promise<GatewayStatus>;
}

export interface SimulatedGatewayOptions {
  seed?: number;
  latencyMs?: number;
  /** Share of disbursements the bank refuses (0..1). */
  failureRate?: number;
  /** Share of requests that time out for the caller (0..1); the bank decides anyway. */
  timeoutRate?: number;
}

export class SimulatedGateway implements PaymentGateway {
  readonly seed: number;
  readonly latencyMs: number;
  readonly failureRate: number;
  readonly timeoutRate: number;
  /** Decided outcomes by disbursement id, and how much was paid out (to prove nothing is paid twice). */
  private readonly outcomes = new Map<string, GatewayOutcome>();
  readonly paidOutMinor = new Map<string, bigint>();
  sends = 0;

  constructor(options: SimulatedGatewayOptions = {}) {
    this.seed = options.seed ?? 1;
    this.latencyMs = options.latencyMs ?? 0;
    this.failureRate = options.failureRate ?? 0;
    this.timeoutRate = options.timeoutRate ?? 0;
  }

  /** A uniform number in [0, 1) from the seed, the id and a salt. */
  private draw(id: bigint, salt: string): number {
    const digest = createHash('sha256').update(`${this.seed}:${id}:${salt}`).digest();
    return digest.readUInt32BE(0) / 2 ** 32;
  }

  private async wait(): Promise<void> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
  }

  async send(request: DisbursementRequest): Promise<GatewayOutcome> {
    this.sends++;
    await this.wait();
    const id = request.disbursementId.toString();
    const known = this.outcomes.get(id);
    if (known) return known;
    const fails = this.draw(request.disbursementId, 'outcome') < this.failureRate;
    const outcome: GatewayOutcome = fails
      ? { status: 'failed', reason: 'card_declined' }
      : { status: 'succeeded', reference: `SIM-${id}` };
    this.outcomes.set(id, outcome);
    if (outcome.status === 'succeeded') this.paidOutMinor.set(id, request.amountMinor);
    if (this.draw(request.disbursementId, 'timeout') < this.timeoutRate) {
      throw new GatewayTimeout(`gateway did not answer for disbursement ${id}`);
    }
    return outcome;
  }

  async status(disbursementId: bigint): Promise<GatewayStatus> {
    await this.wait();
    return this.outcomes.get(disbursementId.toString()) ?? { status: 'unknown' };
  }
}
