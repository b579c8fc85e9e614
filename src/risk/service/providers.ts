/**
 * External data a decision asks for: a credit score from a scoring agency and a report from a
 * credit bureau. Each is an interface so a real provider drops in; the simulators here are what
 * the demo, tests and bench use. Simulated answers are a pure function of (seed, subject), so the
 * same applicant always gets the same score; latency, failures and timeouts are configurable and
 * drawn from a seeded sequence, so a test run is repeatable.
 *
 * The subject is an opaque key (the blind index of the national id): no personal field leaves
 * the platform for a simulator, and none is logged.
 */
import { createHash } from 'node:crypto';
import { mulberry32 } from '../model/cv.ts';
import type { BureauReport, ExternalScore } from '../model/features.ts';

export interface ScoreProvider {
  readonly name: string;
  fetchScore(subject: string, signal: AbortSignal): Promise<ExternalScore>;
}

export interface BureauProvider {
  readonly name: string;
  fetchReport(subject: string, signal: AbortSignal): Promise<BureauReport>;
}

export interface RiskProviders {
  score: ScoreProvider;
  bureau: BureauProvider;
}

export interface SimulatorOptions {
  seed: number;
  /** Delay before each answer; 0 answers on the next turn of the event loop. */
  latencyMs: number;
  /** Share of calls that fail with an error, 0..1. */
  failureRate: number;
  /** Share of calls that never answer (until the caller gives up), 0..1. */
  timeoutRate: number;
}

export const DEFAULT_SIMULATOR: SimulatorOptions = { seed: 42, latencyMs: 0, failureRate: 0, timeoutRate: 0 };
export const SCORE_MIN = 300;
export const SCORE_MAX = 850;

export class ProviderError extends Error {
  override name = 'ProviderError';
}

/** A uniform 0..1 stream for one subject: the same subject always draws the same numbers. */
function subjectRandom(seed: number, subject: string, salt: string): () => number {
  const digest = createHash('sha256').update(`${seed}:${salt}:${subject}`).digest();
  return mulberry32(digest.readUInt32BE(0));
}

/** Waits latencyMs, or fails or hangs as configured; rejects when the caller aborts. */
function simulateCall<T>(opts: SimulatorOptions, draw: () => number, answer: () => T, signal: AbortSignal) {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(new ProviderError('aborted'));
    const u = draw();
    const hang = u < opts.timeoutRate;
    const fail = !hang && u < opts.timeoutRate + opts.failureRate;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      if (timer) clearTimeout(timer);
      reject(new ProviderError('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (hang) return;
    const finish = () => {
      signal.removeEventListener('abort', onAbort);
      if (fail) reject(new ProviderError('simulated provider failure'));
      else resolve(answer());
    };
    if (opts.latencyMs > 0) timer = setTimeout(finish, opts.latencyMs);
    else setImmediate(finish);
  });
}

export function simulatedScoreProvider(options: Partial<SimulatorOptions> = {}): ScoreProvider {
  const opts = { ...DEFAULT_SIMULATOR, ...options };
  const calls = mulberry32(opts.seed ^ 0x5c0e);
  return {
    name: 'score-simulator',
    fetchScore(subject, signal) {
      return simulateCall(
        opts,
        calls,
        () => {
          const r = subjectRandom(opts.seed, subject, 'score');
          // a bell around 650: the mean of three uniforms
          const u = (r() + r() + r()) / 3;
          return { score: Math.round(SCORE_MIN + u * (SCORE_MAX - SCORE_MIN)), provider: 'score-simulator' };
        },
        signal,
      );
    },
  };
}

export function simulatedBureauProvider(options: Partial<SimulatorOptions> = {}): BureauProvider {
  const opts = { ...DEFAULT_SIMULATOR, ...options };
  const calls = mulberry32(opts.seed ^ 0xb0e4);
  return {
    name: 'bureau-simulator',
    fetchReport(subject, signal) {
      return simulateCall(
        opts,
        calls,
        () => {
          const r = subjectRandom(opts.seed, subject, 'bureau');
          const skew = (u: number, max: number) => Math.floor(u * u * (max + 1));
          return {
            inquiries6m: skew(r(), 8),
            openAccounts: skew(r(), 6),
            delinquencies24m: skew(r() * r(), 4),
            utilisation: Math.round(r() * 1.2 * 1000) / 1000,
            provider: 'bureau-simulator',
          };
        },
        signal,
      );
    },
  };
}

export function simulatedProviders(
  score: Partial<SimulatorOptions> = {},
  bureau: Partial<SimulatorOptions> = score,
): RiskProviders {
  return { score: simulatedScoreProvider(score), bureau: simulatedBureauProvider(bureau) };
}

function rate(env: Record<string, string | undefined>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number`);
  return value;
}

/**
 * Simulator settings from the environment, for the demo and the bench:
 * FENQI_RISK_SIM_LATENCY_MS, FENQI_RISK_SIM_FAILURE_RATE, FENQI_RISK_SIM_TIMEOUT_RATE, FENQI_RISK_SIM_SEED.
 */
export function simulatorOptionsFromEnv(env: Record<string, string | undefined>): Partial<SimulatorOptions> {
  const out: Partial<SimulatorOptions> = {};
  const latency = rate(env, 'FENQI_RISK_SIM_LATENCY_MS');
  const failure = rate(env, 'FENQI_RISK_SIM_FAILURE_RATE');
  const timeout = rate(env, 'FENQI_RISK_SIM_TIMEOUT_RATE');
  const seed = rate(env, 'FENQI_RISK_SIM_SEED');
  if (latency !== undefined) out.latencyMs = latency;
  if (failure !== undefined) out.failureRate = Math.min(1, failure);
  if (timeout !== undefined) out.timeoutRate = Math.min(1, timeout);
  if (seed !== undefined) out.seed = Math.floor(seed);
  return out;
}
