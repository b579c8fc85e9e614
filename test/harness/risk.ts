/**
 * Decision budgets for tests whose answers must not depend on how busy the machine is. The real
 * budgets (tens of milliseconds per source) turn a slow read into a referral by design; a test that
 * asserts an approval or a decline, not the budget, gives every source this long instead. Tests of
 * the budgets themselves keep the real ones.
 */
import type { Budgets } from '../../src/risk/service/decide.ts';

export const UNHURRIED_SOURCE_MS = 30_000;

export const UNHURRIED_BUDGETS: Budgets = {
  identityMs: UNHURRIED_SOURCE_MS,
  historyMs: UNHURRIED_SOURCE_MS,
  scoreMs: UNHURRIED_SOURCE_MS,
  bureauMs: UNHURRIED_SOURCE_MS,
  velocityMs: UNHURRIED_SOURCE_MS,
};
