/**
 * A rehearsal's load profile and guard rails (docs/rehearsal.md). A profile is phases run in order:
 * `ramp` from one rate to another, `hold` at a rate, `burst` at a rate (the sale's first minutes),
 * written `ramp:60s:0-200,hold:120s:200,burst:15s:1000` (rates in requests per second). Guard rails
 * stop a run early with the reason a person reads in the report.
 */
import type { SampleRow } from '../store/rehearsals.ts';

/** The phases a profile is made of, as rehearsal_samples stores them. */
export type PhaseKind = SampleRow['phase'];

export interface Phase {
  kind: PhaseKind;
  seconds: number;
  fromPerS: number;
  toPerS: number;
}

/** Bounds on any one run: a typo must not become an hour-long flood. */
export const MAX_PROFILE_SECONDS = 3_600;
export const MAX_RATE_PER_S = 50_000;
export const MAX_PHASES = 20;
export const MAX_PROFILE_CHARS = 500;

export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

const PHASE = /^(ramp|hold|burst):([0-9]{1,4})s:([0-9]{1,6})(?:-([0-9]{1,6}))?$/;

export function parseProfile(text: string): Phase[] {
  if (text.length > MAX_PROFILE_CHARS)
    throw new ProfileError(`a profile is at most ${MAX_PROFILE_CHARS} characters`);
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.length > MAX_PHASES) throw new ProfileError(`1 to ${MAX_PHASES} phases`);
  const phases = parts.map((part) => {
    const m = PHASE.exec(part);
    if (!m) throw new ProfileError(`"${part}" is not kind:<seconds>s:<rate> or ramp:<seconds>s:<from>-<to>`);
    const kind = m[1] as PhaseKind;
    const fromPerS = Number(m[3]);
    const toPerS = m[4] === undefined ? fromPerS : Number(m[4]);
    if (kind !== 'ramp' && m[4] !== undefined)
      throw new ProfileError(`only a ramp takes two rates: "${part}"`);
    const seconds = Number(m[2]);
    if (seconds < 1) throw new ProfileError(`a phase lasts at least 1 s: "${part}"`);
    if (Math.max(fromPerS, toPerS) > MAX_RATE_PER_S)
      throw new ProfileError(`rates are at most ${MAX_RATE_PER_S}/s`);
    return { kind, seconds, fromPerS, toPerS };
  });
  if (profileSeconds(phases) > MAX_PROFILE_SECONDS) {
    throw new ProfileError(`a profile lasts at most ${MAX_PROFILE_SECONDS} s`);
  }
  return phases;
}

export function profileSeconds(phases: readonly Phase[]): number {
  return phases.reduce((s, p) => s + p.seconds, 0);
}

/** The phase and target rate of second `t` (0-based), or undefined past the end. */
export function rateAt(phases: readonly Phase[], t: number): { phase: PhaseKind; perS: number } | undefined {
  let start = 0;
  for (const p of phases) {
    if (t < start + p.seconds) {
      const progress = p.seconds === 1 ? 1 : (t - start) / (p.seconds - 1);
      return { phase: p.kind, perS: Math.round(p.fromPerS + (p.toPerS - p.fromPerS) * progress) };
    }
    start += p.seconds;
  }
  return undefined;
}

export interface GuardRails {
  /** Share of requests that failed (5xx or no answer) over the window, 0..1. */
  maxErrorRate: number;
  maxP99Ms: number;
  /** Orders accepted but not yet settled (the settler's pending count). */
  maxBacklog: number;
  /** Consecutive seconds a rail must be crossed before the run stops (one bad second is noise). */
  windowSeconds: number;
}

export const DEFAULT_GUARD_RAILS: GuardRails = {
  maxErrorRate: 0.01,
  maxP99Ms: 1_000,
  maxBacklog: 100_000,
  windowSeconds: 3,
};

export interface SecondFigures {
  sent: number;
  failed: number;
  p99Ms: number | null;
  backlog: number | null;
}

/** The reason to stop, when the last `windowSeconds` seconds all crossed the same rail. */
export function guardRailCrossed(rails: GuardRails, recent: readonly SecondFigures[]): string | undefined {
  if (recent.length < rails.windowSeconds) return undefined;
  const window = recent.slice(-rails.windowSeconds);
  const sent = window.reduce((s, f) => s + f.sent, 0);
  const failed = window.reduce((s, f) => s + f.failed, 0);
  if (sent > 0 && failed / sent > rails.maxErrorRate) {
    return `error rate ${((failed / sent) * 100).toFixed(1)}% over ${rails.windowSeconds} s, above the ${(rails.maxErrorRate * 100).toFixed(1)}% guard rail`;
  }
  if (window.every((f) => f.p99Ms !== null && f.p99Ms > rails.maxP99Ms)) {
    return `p99 above ${rails.maxP99Ms} ms for ${rails.windowSeconds} s in a row`;
  }
  if (window.every((f) => f.backlog !== null && f.backlog > rails.maxBacklog)) {
    return `settlement backlog above ${rails.maxBacklog} orders for ${rails.windowSeconds} s in a row`;
  }
  return undefined;
}
