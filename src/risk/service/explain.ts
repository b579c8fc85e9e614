/**
 * What staff read about a decision's hard rules: the rules that fired (their fact was known and the
 * rule held) kept apart from the rules that could not be checked (their fact was unknown because a
 * source failed or timed out). The two look alike in a decision's reasons only if someone merges
 * them; here they never are. Works on decisions stored before `factName` was recorded too.
 */
import { fired, type RuleHit } from '../model/policy.ts';

export interface FiredRule {
  code: string;
  action: 'decline' | 'refer';
  fact: string | null;
  observed: number | boolean;
}

export interface UncheckedRule {
  code: string;
  fact: string | null;
}

export interface RuleExplanation {
  fired: FiredRule[];
  unknown: UncheckedRule[];
}

/** Splits stored rule hits; anything not shaped like a hit is ignored (old or foreign rows). */
export function explainRules(hits: unknown): RuleExplanation {
  const out: RuleExplanation = { fired: [], unknown: [] };
  if (!Array.isArray(hits)) return out;
  for (const raw of hits as RuleHit[]) {
    if (!raw || typeof raw.code !== 'string') continue;
    const fact = typeof raw.factName === 'string' ? raw.factName : null;
    if (fired(raw) && raw.fact !== undefined) {
      out.fired.push({ code: raw.code, action: raw.action, fact, observed: raw.fact as number | boolean });
    } else {
      out.unknown.push({ code: raw.code, fact });
    }
  }
  return out;
}
