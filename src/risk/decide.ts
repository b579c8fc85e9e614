/**
 * The decision service. For one application it
 *   1. looks up the applicant's identity keys (cached in process, expiry jittered; misses share reads),
 *   2. gathers IN PARALLEL, each within its own time budget: platform history and deny-list hit
 *      (PostgreSQL), the external credit score, the bureau report, and velocity counters (cache),
 *   3. evaluates — a pure function of what was gathered, the champion model and the policy —
 *      hard rules, then scorecard, grade, line, and degradation rules for any source that did not
 *      answer, giving approve / decline (reason codes) / refer,
 *   4. scores the challengers in shadow, and writes the decision log (and the line or the review).
 * A source that fails or overruns its budget never fails the request; it degrades the decision by
 * the rule the policy writes down for it.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RedisCache } from '../cache/redis-cache.ts';
import type { Platform } from '../platform.ts';
import { fieldCryptoFor } from '../store/crypto.ts';
import { DECISION_BATCH_MAX, type NewDecision, type Outcome, recordDecisions } from '../store/decisions.ts';
import { MicroBatcher } from '../store/micro-batch.ts';
import { activeModels, activeStamp, type LoadedModel, registerModel, stampOf } from '../store/models.ts';
import { activePolicy, ensurePolicy, type PolicyVersion } from '../store/policies.ts';
import {
  HISTORY_BATCH_MAX,
  type HistoryFacts,
  type IdentityRow,
  readHistoryFacts,
  readIdentityRows,
} from '../store/risk-history.ts';
import { trainBootstrap } from './bootstrap.ts';
import {
  type ApplicationInput,
  ageFromNationalId,
  type DecisionInputs,
  featuresOf,
  type PlatformHistory,
  type Sourced,
  type VelocityCounts,
} from './features.ts';
import { creditLine } from './line-policy.ts';
import { evaluateRules, factsOf, type Policy, type RuleHit } from './policy.ts';
import {
  type BureauReport,
  type ExternalScore,
  type RiskProviders,
  simulatedProviders,
  simulatorOptionsFromEnv,
} from './providers.ts';
import { type Grade, type Reason, scoreRow } from './scorecard.ts';
import type { ScorecardModel } from './train.ts';

/** Time budgets per source. The whole gather takes at most the largest of them. */
export const IDENTITY_BUDGET_MS = 50;
export const HISTORY_BUDGET_MS = 50;
export const SCORE_BUDGET_MS = 50;
export const BUREAU_BUDGET_MS = 50;
export const VELOCITY_BUDGET_MS = 50;
/** How often a process re-reads the active models and policy (a promotion takes effect within this). */
export const ACTIVE_REFRESH_MS = 5_000;
export const VELOCITY_HOUR_MS = 3_600_000;
export const VELOCITY_DAY_MS = 86_400_000;
/** Identity keys cached per process; bounded so memory stays flat under any number of customers. */
export const IDENTITY_CACHE_MAX = 50_000;
export const IDENTITY_CACHE_TTL_MS = 60_000;
export const IDENTITY_CACHE_TTL_JITTER = 0.2;
/**
 * Statements of each kind (history reads, decision-log writes) running at once, as a share of the
 * connection pool: decisions arriving meanwhile wait and share the next statement.
 */
export const BATCHES_IN_FLIGHT_POOL_SHARE = 0.25;
/** Samples kept per phase when timings are on (bench, profiling); older ones are dropped. */
export const PHASE_SAMPLES_MAX = 200_000;

/** Wall time per phase of decide(), in fractional milliseconds; only collected when asked for. */
export type PhaseTimings = Map<string, number[]>;

export interface Budgets {
  identityMs: number;
  historyMs: number;
  scoreMs: number;
  bureauMs: number;
  velocityMs: number;
}

export const DEFAULT_BUDGETS: Budgets = {
  identityMs: IDENTITY_BUDGET_MS,
  historyMs: HISTORY_BUDGET_MS,
  scoreMs: SCORE_BUDGET_MS,
  bureauMs: BUREAU_BUDGET_MS,
  velocityMs: VELOCITY_BUDGET_MS,
};

interface Identity {
  phoneKey: string;
  idKey: string;
  /**
   * Who the score and bureau providers are asked about: a digest of the national id under a fixed
   * label, the same in every deployment. The blind index (idKey) is keyed per deployment, so a
   * provider asked by it would answer differently for the same person in each one.
   */
  providerSubject: string;
  birthId: string;
  createdAt: Date;
  expiresAt: number;
}

interface Active {
  at: number;
  /** Which models and policy version these are (activeStamp): a refresh that finds it unchanged keeps them. */
  stamp: string;
  champion: LoadedModel;
  challengers: LoadedModel[];
  policy: PolicyVersion;
}

export interface RiskRuntime {
  providers: RiskProviders;
  budgets: Budgets;
  identities: Map<bigint, Identity>;
  active?: Active;
  loading?: Promise<Active>;
  timings?: PhaseTimings;
  /** Identity reads of applicants not in the identity cache, one statement per batch. */
  identityRows: MicroBatcher<bigint, IdentityRow | undefined>;
  /** History reads of decisions that arrive together, one statement per batch. */
  histories: MicroBatcher<bigint, HistoryFacts | undefined>;
  /** Decision-log writes of decisions that finish together, one statement (and commit) per batch. */
  records: MicroBatcher<NewDecision, { id: bigint; createdAt: Date }>;
  /** Bumped by refreshRisk/configureRisk so a load started before them never installs its result. */
  generation: number;
}

function recordPhase(rt: RiskRuntime, phase: string, ms: number): void {
  const t = rt.timings;
  if (!t) return;
  const samples = t.get(phase);
  if (!samples) t.set(phase, [ms]);
  else if (samples.length < PHASE_SAMPLES_MAX) samples.push(ms);
}

/** Runs work and records its wall time under a phase name when timings are on. */
async function timed<T>(rt: RiskRuntime, phase: string, work: () => Promise<T>): Promise<T> {
  if (!rt.timings) return work();
  const started = performance.now();
  try {
    return await work();
  } finally {
    recordPhase(rt, phase, performance.now() - started);
  }
}

/**
 * Starts collecting per-phase wall times (bench, profiling) into a fresh map and returns it;
 * `false` stops collecting.
 */
export function collectPhaseTimings(platform: Platform, on = true): PhaseTimings | undefined {
  const rt = riskRuntime(platform);
  rt.timings = on ? new Map() : undefined;
  return rt.timings;
}

const runtimes = new WeakMap<Platform, RiskRuntime>();

export function riskRuntime(platform: Platform): RiskRuntime {
  let rt = runtimes.get(platform);
  if (!rt) {
    const sim = simulatorOptionsFromEnv(process.env);
    const sql = platform.db.sql;
    const maxInFlight = Math.max(
      1,
      Math.floor(platform.config.databasePoolMax * BATCHES_IN_FLIGHT_POOL_SHARE),
    );
    rt = {
      providers: simulatedProviders(sim),
      budgets: { ...DEFAULT_BUDGETS },
      identities: new Map(),
      identityRows: new MicroBatcher(
        async (ids) => {
          const rows = await readIdentityRows(sql, ids);
          return ids.map((id) => rows.get(id));
        },
        { maxBatch: HISTORY_BATCH_MAX, maxInFlight },
      ),
      histories: new MicroBatcher(
        async (ids) => {
          const facts = await readHistoryFacts(sql, ids);
          return ids.map((id) => facts.get(id));
        },
        { maxBatch: HISTORY_BATCH_MAX, maxInFlight },
      ),
      records: new MicroBatcher((ds) => recordDecisions(sql, ds), {
        maxBatch: DECISION_BATCH_MAX,
        maxInFlight,
      }),
      generation: 0,
    };
    runtimes.set(platform, rt);
  }
  return rt;
}

/** Swap providers or budgets (tests, bench); clears cached models and policy. */
export function configureRisk(
  platform: Platform,
  changes: { providers?: RiskProviders; budgets?: Partial<Budgets> },
): void {
  const rt = riskRuntime(platform);
  if (changes.providers) rt.providers = changes.providers;
  if (changes.budgets) rt.budgets = { ...rt.budgets, ...changes.budgets };
  refreshRisk(platform);
}

/** Forget cached models and policy: the next decision reads the registry again. */
export function refreshRisk(platform: Platform): void {
  const rt = riskRuntime(platform);
  rt.active = undefined;
  rt.loading = undefined;
  rt.generation++;
}

/**
 * Registers the bootstrap champion (bootstrap.ts) when the registry has no champion, and the
 * default policy when there is none. Safe to call from several processes at once.
 */
export async function ensureChampion(platform: Platform): Promise<void> {
  const sql = platform.db.sql;
  await ensurePolicy(sql);
  const [existing] = await sql`select 1 from risk_models where role = 'champion'`;
  if (existing) return;
  const { model, note } = trainBootstrap();
  const registered = await registerModel(sql, model, { role: 'if-none', source: 'bootstrap', note });
  if (registered)
    platform.logger.info({ version: registered.version }, 'registered bootstrap champion model');
}

async function loadActive(platform: Platform, previous: Active | undefined): Promise<Active> {
  const sql = platform.db.sql;
  // The registry and policy change rarely: a one-row check, and the models are re-read and
  // re-parsed only when it differs.
  if (previous && (await activeStamp(sql)) === previous.stamp) return { ...previous, at: Date.now() };
  let models = await activeModels(sql);
  let policy = await activePolicy(sql);
  if (!models.champion || !policy) {
    await ensureChampion(platform);
    models = await activeModels(sql);
    policy = await activePolicy(sql);
  }
  if (!models.champion || !policy) throw new Error('no champion model or active policy after bootstrap');
  const all = [models.champion, ...models.challengers].sort((a, b) => a.version - b.version);
  return {
    at: Date.now(),
    stamp: stampOf(all, policy.version),
    champion: models.champion,
    challengers: models.challengers,
    policy,
  };
}

/**
 * The champion, challengers and policy, re-checked at most every ACTIVE_REFRESH_MS (single flight).
 * Once a set is loaded, decisions keep using it while the check runs in the background, so a
 * refresh never stalls the requests that happen to arrive when it is due.
 */
export async function active(platform: Platform): Promise<Active> {
  const rt = riskRuntime(platform);
  const current = rt.active;
  if (current && Date.now() - current.at < ACTIVE_REFRESH_MS) return current;
  if (!rt.loading) {
    const generation = rt.generation;
    const loading: Promise<Active> = loadActive(platform, current)
      .then((fresh) => {
        // a refreshRisk() meanwhile wins: this load may have read what it replaced
        if (rt.generation === generation) rt.active = fresh;
        return fresh;
      })
      .finally(() => {
        if (rt.loading === loading) rt.loading = undefined;
      });
    rt.loading = loading;
  }
  if (current) {
    rt.loading.catch(() => {}); // the set in hand stays in use; the next due check retries
    return current;
  }
  return rt.loading;
}

/**
 * Runs work with a deadline; never rejects. Work that declares a signal parameter gets an abort
 * signal that fires when the deadline passes; work that takes none gets no controller (making one
 * per source per decision showed up in the profile).
 */
export async function withBudget<T>(
  budgetMs: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<Sourced<T>> {
  const started = performance.now();
  const controller = work.length > 0 ? new AbortController() : undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), budgetMs);
  });
  try {
    const outcome = await Promise.race([
      work(controller?.signal as AbortSignal).then((value) => ({ value })),
      deadline,
    ]);
    const ms = Math.round(performance.now() - started);
    if (outcome === 'timeout') {
      controller?.abort();
      return { status: 'timeout', value: null, ms };
    }
    return { status: 'ok', value: outcome.value, ms };
  } catch {
    return { status: 'error', value: null, ms: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

export class CustomerNotFoundError extends Error {
  override name = 'CustomerNotFoundError';
}

function cachedIdentity(rt: RiskRuntime, customerId: bigint): Identity | undefined {
  const cached = rt.identities.get(customerId);
  return cached && Date.now() < cached.expiresAt ? cached : undefined;
}

async function identityOf(platform: Platform, customerId: bigint): Promise<Identity> {
  const rt = riskRuntime(platform);
  const cached = cachedIdentity(rt, customerId);
  if (cached) return cached;
  const row = await rt.identityRows.submit(customerId);
  if (!row) throw new CustomerNotFoundError(`customer ${customerId} not found`);
  const { cipher } = fieldCryptoFor(platform.config);
  const nationalId = cipher.decrypt(row.nationalIdEnc, {
    table: 'customers',
    column: 'national_id_enc',
    rowId: customerId,
  });
  // spread over ±IDENTITY_CACHE_TTL_JITTER so identities cached together do not all expire together
  const ttlMs =
    IDENTITY_CACHE_TTL_MS * (1 - IDENTITY_CACHE_TTL_JITTER + 2 * IDENTITY_CACHE_TTL_JITTER * Math.random());
  const identity: Identity = {
    phoneKey: row.phoneBidx.toString('hex'),
    idKey: row.nationalIdBidx.toString('hex'),
    providerSubject: createHash('sha256').update(`fenqi-provider-subject:${nationalId}`).digest('hex'),
    // only the birth date digits are kept in memory, not the number
    birthId: `000000${nationalId.slice(6, 14)}`,
    createdAt: row.createdAt,
    expiresAt: Date.now() + ttlMs,
  };
  if (rt.identities.size >= IDENTITY_CACHE_MAX) rt.identities.delete(rt.identities.keys().next().value!);
  rt.identities.set(customerId, identity);
  return identity;
}

async function history(
  platform: Platform,
  customerId: bigint,
  identity: Identity,
  at: Date,
): Promise<PlatformHistory> {
  const facts = await riskRuntime(platform).histories.submit(customerId);
  if (!facts) throw new CustomerNotFoundError(`customer ${customerId} not found`);
  const due = facts.dueCount;
  return {
    customerStatus: facts.status,
    ageYears: ageFromNationalId(identity.birthId, at),
    tenureDays: Math.max(0, Math.floor((at.getTime() - identity.createdAt.getTime()) / 86_400_000)),
    denyListed: facts.denyListed,
    loans: facts.loans,
    openLoans: facts.openLoans,
    onTimeRatio: due > 0 ? Math.round((facts.onTimeCount / due) * 10_000) / 10_000 : null,
    worstDpd: facts.worstDpd,
    currentDpd: facts.currentDpd,
    productCapMinor: facts.productCapMinor,
  };
}

// All six counters in one script: one round trip and one script run instead of six. Each key gets
// its window on its first increment, exactly as Cache.incr does.
const VELOCITY_SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  local value = redis.call('INCR', key)
  if value == 1 then redis.call('PEXPIRE', key, ARGV[i]) end
  out[i] = value
end
return out`;
const VELOCITY_COMMAND = 'fenqiRiskVelocity';
type VelocityCommand = (...keysThenWindows: (string | number)[]) => Promise<number[]>;
const velocityCommands = new WeakMap<Redis, VelocityCommand>();

/** The six-counter script on a Redis client, defined once per client (sent once, then EVALSHA). */
function velocityCommand(client: Redis): VelocityCommand {
  let command = velocityCommands.get(client);
  if (!command) {
    client.defineCommand(VELOCITY_COMMAND, { numberOfKeys: 6, lua: VELOCITY_SCRIPT });
    const defined = (client as unknown as Record<string, VelocityCommand>)[VELOCITY_COMMAND]!;
    command = (...args) => defined.apply(client, args);
    velocityCommands.set(client, command);
  }
  return command;
}

async function velocity(platform: Platform, identity: Identity, deviceKey: string): Promise<VelocityCounts> {
  const cache = platform.cache;
  const k = (kind: string, window: string, key: string) => `risk:vel:${kind}:${window}:${key.slice(0, 32)}`;
  const counters: [string, number][] = [
    [k('phone', 'h', identity.phoneKey), VELOCITY_HOUR_MS],
    [k('phone', 'd', identity.phoneKey), VELOCITY_DAY_MS],
    [k('id', 'h', identity.idKey), VELOCITY_HOUR_MS],
    [k('id', 'd', identity.idKey), VELOCITY_DAY_MS],
    [k('device', 'h', deviceKey), VELOCITY_HOUR_MS],
    [k('device', 'd', deviceKey), VELOCITY_DAY_MS],
  ];
  const counts =
    cache instanceof RedisCache
      ? (
          await velocityCommand(cache.client)(...counters.map(([key]) => key), ...counters.map(([, w]) => w))
        ).map(Number)
      : await Promise.all(counters.map(([key, windowMs]) => cache.incr(key, windowMs)));
  const [phoneHour, phoneDay, idHour, idDay, deviceHour, deviceDay] = counts as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return { phoneHour, phoneDay, idHour, idDay, deviceHour, deviceDay };
}

const unavailable = <T>(): Sourced<T> => ({ status: 'error', value: null, ms: 0 });

/** Everything a decision reads, gathered in parallel within budgets. Never rejects for a source. */
export async function gather(
  platform: Platform,
  customerId: bigint,
  application: ApplicationInput,
  at = new Date(),
): Promise<DecisionInputs> {
  const rt = riskRuntime(platform);
  const b = rt.budgets;
  // a cached identity (the common case) needs no budget, timer or abort signal
  const cached = cachedIdentity(rt, customerId);
  const id: Sourced<Identity> = cached
    ? { status: 'ok', value: cached, ms: 0 }
    : await withBudget(b.identityMs, () => timed(rt, 'identity', () => identityOf(platform, customerId)));
  if (id.status !== 'ok') {
    // a customer that does not exist is the caller's error, not a degraded decision (whether the
    // identity read failed or ran over its budget)
    const [row] = await platform.db.sql`select 1 from customers where id = ${customerId.toString()}::bigint`;
    if (!row) throw new CustomerNotFoundError(`customer ${customerId} not found`);
  }
  const identity = id.value;
  const [hist, score, bureau, vel] = await Promise.all([
    identity
      ? withBudget(b.historyMs, () => timed(rt, 'history', () => history(platform, customerId, identity, at)))
      : unavailable<PlatformHistory>(),
    identity
      ? withBudget(b.scoreMs, (signal) =>
          timed(rt, 'score', () => rt.providers.score.fetchScore(identity.providerSubject, signal)),
        )
      : unavailable<ExternalScore>(),
    identity
      ? withBudget(b.bureauMs, (signal) =>
          timed(rt, 'bureau', () => rt.providers.bureau.fetchReport(identity.providerSubject, signal)),
        )
      : unavailable<BureauReport>(),
    identity
      ? withBudget(b.velocityMs, () =>
          timed(rt, 'velocity', () => velocity(platform, identity, application.deviceKey)),
        )
      : unavailable<VelocityCounts>(),
  ]);
  return { at: at.toISOString(), application, history: hist, score, bureau, velocity: vel };
}

export function deviceKeyOf(deviceId: string): string {
  return createHash('sha256').update(`fenqi-device:${deviceId}`).digest('hex');
}

export interface Evaluation {
  outcome: Outcome;
  grade: Grade;
  score: number;
  pdBad: number;
  /** Set on approve. */
  lineMinor: bigint | null;
  /** What the line would be if approved (for reviewers); null when the grade gives none. */
  suggestedLineMinor: bigint | null;
  /** Reason codes: rule codes, degradation codes, SCORE_TOO_LOW, SCORE_REVIEW, LINE_TOO_SMALL. */
  reasons: string[];
  ruleHits: RuleHit[];
  /** Sources that did not answer and the rule applied: "bureau:refer", "score:line 8000bp". */
  degraded: string[];
  points: Record<string, number>;
  bins: Record<string, string>;
  scoreReasons: Reason[];
}

/** The lowest score that still earns a grade the policy approves. */
export function approvalCutoff(model: Pick<ScorecardModel, 'grades'>, policy: Policy): number {
  let cutoff = Number.POSITIVE_INFINITY;
  for (const g of model.grades) {
    if (policy.approveGrades.includes(g.grade))
      cutoff = Math.min(cutoff, g.minScore ?? Number.NEGATIVE_INFINITY);
  }
  return cutoff;
}

const DEGRADING_SOURCES = [
  ['score', 'SCORE_UNAVAILABLE'],
  ['bureau', 'BUREAU_UNAVAILABLE'],
  ['velocity', 'VELOCITY_UNAVAILABLE'],
] as const;

/**
 * The decision as a pure function of its inputs, a model and a policy: replaying stored inputs
 * through the stored model and policy version gives the same answer, point for point.
 */
export function evaluate(inputs: DecisionInputs, model: ScorecardModel, policy: Policy): Evaluation {
  const ruleHits = evaluateRules(policy, factsOf(inputs));
  const scored = scoreRow(model, featuresOf(inputs));
  const cutoff = approvalCutoff(model, policy);
  const declines = ruleHits.filter((h) => h.action === 'decline').map((h) => h.code);
  const refers = ruleHits.filter((h) => h.action === 'refer').map((h) => h.code);
  const degraded: string[] = [];
  const factorsBp: number[] = [];

  if (inputs.history.status !== 'ok') {
    degraded.push('history:refer');
    refers.push('PLATFORM_DATA_UNAVAILABLE');
  }
  for (const [source, code] of DEGRADING_SOURCES) {
    if (inputs[source].status === 'ok') continue;
    const rule = policy.degradation[source];
    if (scored.score < cutoff + rule.referMarginPoints) {
      degraded.push(`${source}:refer`);
      refers.push(code);
    } else {
      degraded.push(`${source}:line ${rule.lineFactorBp}bp`);
      factorsBp.push(rule.lineFactorBp);
    }
  }

  const approvable = policy.approveGrades.includes(scored.grade);
  const reviewable = policy.referGrades.includes(scored.grade);
  const line =
    approvable || reviewable
      ? creditLine(policy.line, {
          grade: scored.grade,
          statedIncomeMinor: BigInt(inputs.application.statedIncomeMinor),
          factorsBp,
          productCapMinor:
            inputs.history.value?.productCapMinor != null
              ? BigInt(inputs.history.value.productCapMinor)
              : null,
        })
      : null;

  let outcome: Outcome;
  let reasons: string[];
  if (declines.length > 0) {
    outcome = 'decline';
    reasons = declines;
  } else if (!approvable && !reviewable) {
    outcome = 'decline';
    reasons = ['SCORE_TOO_LOW'];
  } else if (line?.belowMinimum) {
    outcome = 'decline';
    reasons = ['LINE_TOO_SMALL'];
  } else if (refers.length > 0 || reviewable) {
    outcome = 'refer';
    reasons = reviewable ? [...refers, 'SCORE_REVIEW'] : refers;
  } else {
    outcome = 'approve';
    reasons = [];
  }
  return {
    outcome,
    grade: scored.grade,
    score: scored.score,
    pdBad: scored.pdBad,
    lineMinor: outcome === 'approve' ? line!.lineMinor : null,
    suggestedLineMinor: line && !line.belowMinimum ? line.lineMinor : null,
    reasons,
    ruleHits,
    degraded,
    points: scored.points,
    bins: scored.bins,
    scoreReasons: scored.reasons,
  };
}

export interface ChallengerResult {
  modelId: string;
  version: number;
  outcome: Outcome;
  score: number;
  grade: Grade;
  points: Record<string, number>;
}

export interface Decision extends Evaluation {
  id: bigint;
  createdAt: Date;
  modelId: bigint;
  modelVersion: number;
  policyVersion: number;
  latencyMs: number;
  challengers: ChallengerResult[];
}

/** The stored result column: everything the evaluation concluded, JSON-safe. */
export function resultJson(e: Evaluation, challengers: ChallengerResult[], modelVersion: number) {
  return {
    modelVersion,
    pdBad: e.pdBad,
    points: e.points,
    bins: e.bins,
    scoreReasons: e.scoreReasons,
    ruleHits: e.ruleHits,
    degraded: e.degraded,
    suggestedLineMinor: e.suggestedLineMinor === null ? null : e.suggestedLineMinor.toString(),
    challengers,
  };
}

/** Decides one application and records it. */
export async function decide(
  platform: Platform,
  customerId: bigint,
  application: ApplicationInput,
): Promise<Decision> {
  const rt = riskRuntime(platform);
  const started = performance.now();
  const [inputs, act] = await Promise.all([
    timed(rt, 'gather', () => gather(platform, customerId, application)),
    active(platform),
  ]);
  const evaluated = performance.now();
  const e = evaluate(inputs, act.champion.model, act.policy.policy);
  const challengers: ChallengerResult[] = act.challengers.map((c) => {
    const shadow = evaluate(inputs, c.model, act.policy.policy);
    return {
      modelId: c.id.toString(),
      version: c.version,
      outcome: shadow.outcome,
      score: shadow.score,
      grade: shadow.grade,
      points: shadow.points,
    };
  });
  const persisting = performance.now();
  recordPhase(rt, 'evaluate', persisting - evaluated);
  const latencyMs = Math.round(persisting - started);
  const stored = await timed(rt, 'persist', () =>
    rt.records.submit({
      customerId,
      outcome: e.outcome,
      grade: e.grade,
      score: e.score,
      lineMinor: e.lineMinor,
      modelId: act.champion.id,
      policyVersion: act.policy.version,
      inputs,
      result: resultJson(e, challengers, act.champion.version),
      reasons: e.reasons,
      latencyMs,
    }),
  );
  recordPhase(rt, 'decide', performance.now() - started);
  return {
    ...e,
    id: stored.id,
    createdAt: stored.createdAt,
    modelId: act.champion.id,
    modelVersion: act.champion.version,
    policyVersion: act.policy.version,
    latencyMs,
    challengers,
  };
}
