/**
 * The decision service. For one application it
 *   1. looks up the applicant's identity keys (cached in process, expiry jittered; misses share reads),
 *      with the applicant's routing key: only applicants with one key share a statement, so on
 *      Citus every statement of a decision runs on the applicant's shard,
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
import type { Cache, CounterHit } from '../../cache/cache.ts';
import { velocityKey } from '../../cache/keys.ts';
import type { Logger } from '../../logger.ts';
import type { FieldCrypto } from '../../store/crypto.ts';
import { CustomerRouting, ROUTING_BATCH_MAX } from '../../store/customer-routing.ts';
import type { Sql } from '../../store/db.ts';
import { DECISION_BATCH_MAX, type NewDecision, recordDecisions } from '../../store/decisions.ts';
import { claimIdGenerator, type IdGenerator } from '../../store/id-generator.ts';
import { ANY_GROUP, MicroBatcher } from '../../store/micro-batch.ts';
import {
  activeModels,
  activeStamp,
  hasChampion,
  type LoadedModel,
  registerModel,
  stampOf,
} from '../../store/models.ts';
import { activePolicy, ensurePolicy, type PolicyVersion } from '../../store/policies.ts';
import {
  customerExists,
  HISTORY_BATCH_MAX,
  type HistoryFacts,
  type IdentityRow,
  readHistoryFacts,
  readIdentityRows,
} from '../../store/risk-history.ts';
import { type ChallengerResult, type Evaluation, evaluate, resultJson } from '../model/evaluate.ts';
import {
  type ApplicationInput,
  ageFromNationalId,
  type BureauReport,
  type DecisionInputs,
  type ExternalScore,
  type PlatformHistory,
  type Sourced,
  type VelocityCounts,
} from '../model/features.ts';
import { trainBootstrap } from './bootstrap.ts';
import type { RiskProviders } from './providers.ts';

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

/** Batches of one statement kind running at once for a pool of `poolMax` connections (at least one). */
export function batchesInFlight(poolMax: number): number {
  return Math.max(1, Math.floor(poolMax * BATCHES_IN_FLIGHT_POOL_SHARE));
}
/**
 * Velocity scripts running at once: decisions arriving meanwhile wait and share the next script
 * (one command and one reply for all of them, instead of one each). One, as ioredis runs one
 * auto-pipeline at a time anyway: the wait is the one it already had.
 */
export const VELOCITY_BATCHES_IN_FLIGHT = 1;
/** Decisions whose counters one velocity script carries at most (six counters each). */
export const VELOCITY_BATCH_MAX = 64;
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
  /** Which applicants' statements may be batched together (src/store/customer-routing.ts). */
  routingKey: string;
  /** The phone's and national id's velocity counters (hour, day): the same for every application. */
  counters: readonly CounterHit[];
  expiresAt: number;
}

export interface ActiveSet {
  at: number;
  /** Which models and policy version these are (activeStamp): a refresh that finds it unchanged keeps them. */
  stamp: string;
  champion: LoadedModel;
  challengers: LoadedModel[];
  policy: PolicyVersion;
}

/** What the decision service reads and writes through; the composition root (services.ts) passes them. */
export interface DecisionDeps {
  sql: Sql;
  cache: Cache;
  crypto: FieldCrypto;
  logger: Logger;
  /** The database pool size: batches in flight are a share of it. */
  poolMax: number;
  providers: RiskProviders;
  /** Today's business date (the platform's business clock), for the history's days past due. */
  today: () => Promise<string>;
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

export class CustomerNotFoundError extends Error {
  override name = 'CustomerNotFoundError';
}

const unavailable = <T>(): Sourced<T> => ({ status: 'error', value: null, ms: 0 });

/** A subject's hour and day counters; keys hold the first 32 hex digits of its key or hash. */
const velocityCounters = (kind: 'phone' | 'id' | 'device', subject: string): CounterHit[] => [
  { key: velocityKey(kind, subject.slice(0, 32), 'h'), windowMs: VELOCITY_HOUR_MS },
  { key: velocityKey(kind, subject.slice(0, 32), 'd'), windowMs: VELOCITY_DAY_MS },
];

/**
 * One per process (built by services.ts): the identity cache, the active models and policy, and the
 * micro-batchers that let decisions arriving together share statements.
 */
export class DecisionService {
  providers: RiskProviders;
  budgets: Budgets = { ...DEFAULT_BUDGETS };
  timings?: PhaseTimings;
  /** Routing keys of applicants not in the identity cache (on Citus, a look-up in its metadata). */
  readonly routingKeys: MicroBatcher<bigint, string>;
  /** Identity reads of applicants not in the identity cache, one statement per batch. */
  readonly identityRows: MicroBatcher<bigint, IdentityRow | undefined>;
  /** History reads of decisions that arrive together, one statement per batch. */
  readonly histories: MicroBatcher<bigint, HistoryFacts | undefined>;
  /** Velocity counters of decisions that arrive together, one cache script per batch. */
  readonly velocities: MicroBatcher<readonly CounterHit[], number[]>;
  /** Decision-log writes of decisions that finish together, one statement (and commit) per batch. */
  readonly records: MicroBatcher<NewDecision, { id: bigint; createdAt: Date }>;
  private readonly identities = new Map<bigint, Identity>();
  /** Names the decisions of this process before they are stored, so a batch needs no read-back. */
  private ids?: Promise<IdGenerator>;
  private current?: ActiveSet;
  private loading?: Promise<ActiveSet>;
  /** Bumped by refresh/configure so a load started before them never installs its result. */
  private generation = 0;

  constructor(private readonly deps: DecisionDeps) {
    this.providers = deps.providers;
    const { sql } = deps;
    const maxInFlight = batchesInFlight(deps.poolMax);
    const routing = new CustomerRouting(sql);
    this.routingKeys = new MicroBatcher(
      async (ids) => {
        const keys = await routing.keysOf(ids);
        return ids.map((id) => keys.get(id) ?? ANY_GROUP);
      },
      { maxBatch: ROUTING_BATCH_MAX, maxInFlight },
    );
    this.identityRows = new MicroBatcher(
      async (ids) => {
        const rows = await readIdentityRows(sql, ids);
        return ids.map((id) => rows.get(id));
      },
      { maxBatch: HISTORY_BATCH_MAX, maxInFlight },
    );
    this.histories = new MicroBatcher(
      async (ids) => {
        const facts = await readHistoryFacts(sql, ids, await deps.today());
        return ids.map((id) => facts.get(id));
      },
      { maxBatch: HISTORY_BATCH_MAX, maxInFlight },
    );
    this.velocities = new MicroBatcher(
      async (hits) => {
        const { counts } = await deps.cache.incrAndGet(hits.flat(), []);
        let at = 0;
        return hits.map((h) => {
          const mine = counts.slice(at, at + h.length);
          at += h.length;
          return mine;
        });
      },
      {
        maxBatch: VELOCITY_BATCH_MAX,
        maxInFlight: VELOCITY_BATCHES_IN_FLIGHT,
        // this turn: the cache client defers its write to the next turn itself (auto-pipelining)
        flush: 'this-turn',
        // a script that timed out may still have counted: retrying would count twice (a false
        // decline); the decisions degrade by the velocity rule instead, as one script each did
        retryAlone: false,
      },
    );
    this.records = new MicroBatcher(async (ds) => recordDecisions(sql, ds, await this.idGenerator()), {
      maxBatch: DECISION_BATCH_MAX,
      maxInFlight,
    });
  }

  private idGenerator(): Promise<IdGenerator> {
    this.ids ??= claimIdGenerator(this.deps.sql);
    // a failed claim is tried again by the next batch rather than remembered
    this.ids.catch(() => {
      this.ids = undefined;
    });
    return this.ids;
  }

  /** The applicant's routing key: from the identity cache, else from the database. */
  private async routingKeyOf(customerId: bigint): Promise<string> {
    return this.cachedIdentity(customerId)?.routingKey ?? (await this.routingKeys.submit(customerId));
  }

  private recordPhase(phase: string, ms: number): void {
    const t = this.timings;
    if (!t) return;
    const samples = t.get(phase);
    if (!samples) t.set(phase, [ms]);
    else if (samples.length < PHASE_SAMPLES_MAX) samples.push(ms);
  }

  /** Runs work and records its wall time under a phase name when timings are on. */
  private timed<T>(phase: string, work: () => Promise<T>): Promise<T> {
    // not async itself: with timings off (production) it adds no promise of its own
    return this.timings ? this.timedAlways(phase, work) : work();
  }

  private async timedAlways<T>(phase: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.recordPhase(phase, performance.now() - started);
    }
  }

  /**
   * Starts collecting per-phase wall times (bench, profiling) into a fresh map and returns it;
   * `false` stops collecting.
   */
  collectPhaseTimings(on = true): PhaseTimings | undefined {
    this.timings = on ? new Map() : undefined;
    return this.timings;
  }

  /** Swap providers or budgets (tests, bench); clears cached models and policy. */
  configure(changes: { providers?: RiskProviders; budgets?: Partial<Budgets> }): void {
    if (changes.providers) this.providers = changes.providers;
    if (changes.budgets) this.budgets = { ...this.budgets, ...changes.budgets };
    this.refresh();
  }

  /** Forget cached models and policy: the next decision reads the registry again. */
  refresh(): void {
    this.current = undefined;
    this.loading = undefined;
    this.generation++;
  }

  /**
   * Registers the bootstrap champion (bootstrap.ts) when the registry has no champion, and the
   * default policy when there is none. Safe to call from several processes at once.
   */
  async ensureChampion(): Promise<void> {
    const { sql } = this.deps;
    await ensurePolicy(sql);
    if (await hasChampion(sql)) return;
    const { model, note } = trainBootstrap();
    const registered = await registerModel(sql, model, { role: 'if-none', source: 'bootstrap', note });
    if (registered)
      this.deps.logger.info({ version: registered.version }, 'registered bootstrap champion model');
  }

  private async loadActive(previous: ActiveSet | undefined): Promise<ActiveSet> {
    const { sql } = this.deps;
    // The registry and policy change rarely: a one-row check, and the models are re-read and
    // re-parsed only when it differs.
    if (previous && (await activeStamp(sql)) === previous.stamp) return { ...previous, at: Date.now() };
    let models = await activeModels(sql);
    let policy = await activePolicy(sql);
    if (!models.champion || !policy) {
      await this.ensureChampion();
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
  async active(): Promise<ActiveSet> {
    const current = this.current;
    if (current && Date.now() - current.at < ACTIVE_REFRESH_MS) return current;
    if (!this.loading) {
      const generation = this.generation;
      const loading: Promise<ActiveSet> = this.loadActive(current)
        .then((fresh) => {
          // a refresh() meanwhile wins: this load may have read what it replaced
          if (this.generation === generation) this.current = fresh;
          return fresh;
        })
        .finally(() => {
          if (this.loading === loading) this.loading = undefined;
        });
      this.loading = loading;
    }
    if (current) {
      this.loading.catch(() => {}); // the set in hand stays in use; the next due check retries
      return current;
    }
    return this.loading;
  }

  private cachedIdentity(customerId: bigint): Identity | undefined {
    const cached = this.identities.get(customerId);
    return cached && Date.now() < cached.expiresAt ? cached : undefined;
  }

  private async identityOf(customerId: bigint): Promise<Identity> {
    const cached = this.cachedIdentity(customerId);
    if (cached) return cached;
    const routingKey = await this.routingKeys.submit(customerId);
    const row = await this.identityRows.submit(customerId, routingKey);
    if (!row) throw new CustomerNotFoundError(`customer ${customerId} not found`);
    const nationalId = this.deps.crypto.cipher.decrypt(row.nationalIdEnc, {
      table: 'customers',
      column: 'national_id_enc',
      rowId: customerId,
    });
    // spread over ±IDENTITY_CACHE_TTL_JITTER so identities cached together do not all expire together
    const ttlMs =
      IDENTITY_CACHE_TTL_MS * (1 - IDENTITY_CACHE_TTL_JITTER + 2 * IDENTITY_CACHE_TTL_JITTER * Math.random());
    const phoneKey = row.phoneBidx.toString('hex');
    const idKey = row.nationalIdBidx.toString('hex');
    const identity: Identity = {
      phoneKey,
      idKey,
      providerSubject: createHash('sha256').update(`fenqi-provider-subject:${nationalId}`).digest('hex'),
      // only the birth date digits are kept in memory, not the number
      birthId: `000000${nationalId.slice(6, 14)}`,
      createdAt: row.createdAt,
      routingKey,
      counters: [...velocityCounters('phone', phoneKey), ...velocityCounters('id', idKey)],
      expiresAt: Date.now() + ttlMs,
    };
    if (this.identities.size >= IDENTITY_CACHE_MAX)
      this.identities.delete(this.identities.keys().next().value!);
    this.identities.set(customerId, identity);
    return identity;
  }

  private async history(customerId: bigint, identity: Identity, at: Date): Promise<PlatformHistory> {
    const facts = await this.histories.submit(customerId, identity.routingKey);
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

  /**
   * Six windowed counters (phone, national id, device; hour and day). Decisions arriving together
   * share one cache script (this.velocities); counters named twice in it count in order.
   */
  private async velocity(identity: Identity, deviceKey: string): Promise<VelocityCounts> {
    const counts = await this.velocities.submit([
      ...identity.counters,
      ...velocityCounters('device', deviceKey),
    ]);
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

  /** Everything a decision reads, gathered in parallel within budgets. Never rejects for a source. */
  async gather(customerId: bigint, application: ApplicationInput, at = new Date()): Promise<DecisionInputs> {
    const b = this.budgets;
    // a cached identity (the common case) needs no budget, timer or abort signal
    const cached = this.cachedIdentity(customerId);
    const id: Sourced<Identity> = cached
      ? { status: 'ok', value: cached, ms: 0 }
      : await withBudget(b.identityMs, () => this.timed('identity', () => this.identityOf(customerId)));
    // a customer that does not exist is the caller's error, not a degraded decision (whether the
    // identity read failed or ran over its budget)
    if (id.status !== 'ok' && !(await customerExists(this.deps.sql, customerId)))
      throw new CustomerNotFoundError(`customer ${customerId} not found`);
    const identity = id.value;
    if (!identity) {
      const none = { history: unavailable<PlatformHistory>(), score: unavailable<ExternalScore>() };
      const rest = { bureau: unavailable<BureauReport>(), velocity: unavailable<VelocityCounts>() };
      return { at: at.toISOString(), application, ...none, ...rest };
    }
    const { score, bureau } = this.providers;
    // sources with the same budget share one deadline: one timer (and one abort signal) for them all
    const deadlines = new Map<number, Deadline>();
    const deadline = (budgetMs: number): Deadline => {
      const known = deadlines.get(budgetMs);
      if (known) return known;
      const d = new Deadline(budgetMs);
      deadlines.set(budgetMs, d);
      return d;
    };
    try {
      const [hist, scored, report, vel] = await Promise.all([
        withBudget(
          b.historyMs,
          () => this.timed('history', () => this.history(customerId, identity, at)),
          deadline(b.historyMs),
        ),
        withBudget(
          b.scoreMs,
          (signal) => this.timed('score', () => score.fetchScore(identity.providerSubject, signal)),
          deadline(b.scoreMs),
        ),
        withBudget(
          b.bureauMs,
          (signal) => this.timed('bureau', () => bureau.fetchReport(identity.providerSubject, signal)),
          deadline(b.bureauMs),
        ),
        withBudget(
          b.velocityMs,
          () => this.timed('velocity', () => this.velocity(identity, application.deviceKey)),
          deadline(b.velocityMs),
        ),
      ]);
      return {
        at: at.toISOString(),
        application,
        history: hist,
        score: scored,
        bureau: report,
        velocity: vel,
      };
    } finally {
      for (const d of deadlines.values()) d.clear();
    }
  }

  /** Decides one application and records it. */
  async decide(customerId: bigint, application: ApplicationInput): Promise<Decision> {
    const started = performance.now();
    const [inputs, act] = await Promise.all([
      this.timed('gather', () => this.gather(customerId, application)),
      this.active(),
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
    this.recordPhase('evaluate', persisting - evaluated);
    const latencyMs = Math.round(persisting - started);
    // after gather the identity is cached, unless its read failed: then the key is asked for
    const routingKey = await this.routingKeyOf(customerId).catch(() => ANY_GROUP);
    const stored = await this.timed('persist', () =>
      this.records.submit(
        {
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
        },
        routingKey,
      ),
    );
    this.recordPhase('decide', performance.now() - started);
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
}

/**
 * A point in time `budgetMs` from now: one timer, and an abort signal made only when some work
 * asks for one. Sources of one decision with the same budget share it (making a timer and a
 * controller per source per decision showed up in the profile). The owner calls clear().
 */
export class Deadline {
  readonly reached: Promise<'timeout'>;
  private timer: NodeJS.Timeout | undefined;
  private controller: AbortController | undefined;

  constructor(budgetMs: number) {
    this.reached = new Promise<'timeout'>((resolve) => {
      this.timer = setTimeout(() => resolve('timeout'), budgetMs);
    });
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  /** Abandons the work that took the signal (it fires once; later calls do nothing). */
  abort(): void {
    this.controller?.abort();
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/**
 * Runs work with a deadline; never rejects. Work that declares a signal parameter gets an abort
 * signal that fires when the deadline passes; work that takes none gets no controller. `shared`
 * is a deadline of the same budget that its owner clears (gather's sources share one); without
 * it, this call makes and clears its own.
 */
export async function withBudget<T>(
  budgetMs: number,
  work: (signal: AbortSignal) => Promise<T>,
  shared?: Deadline,
): Promise<Sourced<T>> {
  const started = performance.now();
  const deadline = shared ?? new Deadline(budgetMs);
  try {
    const outcome = await Promise.race([
      work((work.length > 0 ? deadline.signal : undefined) as AbortSignal).then((value) => ({ value })),
      deadline.reached,
    ]);
    const ms = Math.round(performance.now() - started);
    if (outcome === 'timeout') {
      deadline.abort();
      return { status: 'timeout', value: null, ms };
    }
    return { status: 'ok', value: outcome.value, ms };
  } catch {
    return { status: 'error', value: null, ms: Math.round(performance.now() - started) };
  } finally {
    if (!shared) deadline.clear();
  }
}

export function deviceKeyOf(deviceId: string): string {
  return createHash('sha256').update(`fenqi-device:${deviceId}`).digest('hex');
}
