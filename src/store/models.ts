/**
 * The model registry: every scorecard the platform has decided with or may decide with, with its
 * training metrics. Exactly one champion answers applications; challengers are scored in shadow
 * and logged next to it; retired models stay so old decisions can be replayed.
 */
import { parseModel, type ScorecardModel } from '../risk/model/train.ts';
import type { Queryable, Sql, TransactionSql } from './db.ts';
import { recordAdminEvent } from './risk-admin-events.ts';

export type ModelRole = 'champion' | 'challenger' | 'retired';
export type ModelSource = 'file' | 'platform' | 'bootstrap';
/** Attempts at taking the next version number when two registrations race for it. */
export const REGISTER_RETRIES = 5;
/** Largest page of the registry one request reads. */
export const MODEL_PAGE_MAX = 100;

export interface ModelSummary {
  auc: number | null;
  gini: number | null;
  ks: number | null;
  rows: number;
  bads: number;
  features: string[];
}

export interface RegisteredModel {
  id: bigint;
  version: number;
  role: ModelRole;
  source: ModelSource;
  metrics: ModelSummary;
  note: string;
  createdAt: Date;
  promotedAt: Date | null;
}

export interface LoadedModel extends RegisteredModel {
  model: ScorecardModel;
}

interface Row {
  id: bigint;
  version: number;
  role: ModelRole;
  source: ModelSource;
  metrics: ModelSummary;
  note: string;
  created_at: Date;
  promoted_at: Date | null;
  model?: unknown;
}

const summary = (r: Row): RegisteredModel => ({
  id: r.id,
  version: r.version,
  role: r.role,
  source: r.source,
  metrics: r.metrics,
  note: r.note,
  createdAt: r.created_at,
  promotedAt: r.promoted_at,
});

const loaded = (r: Row): LoadedModel => ({ ...summary(r), model: parseModel(r.model) });

export function summarise(model: ScorecardModel): ModelSummary {
  const headline = model.metrics.cv?.mean ?? model.metrics.training;
  return {
    auc: headline.auc,
    gini: headline.gini,
    ks: headline.ks,
    rows: model.rows,
    bads: model.bads,
    features: model.features.map((f) => f.name),
  };
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string })?.code === '23505';
}

/**
 * Registers a model. As champion it replaces the current champion (which is retired) in the same
 * transaction; `champion: 'if-none'` registers it as champion only when there is none (start-up
 * bootstrap; concurrent starts are harmless) and returns undefined otherwise.
 */
export async function registerModel(
  sql: Sql,
  model: ScorecardModel,
  options: { role: 'champion' | 'challenger' | 'if-none'; source: ModelSource; note?: string },
): Promise<RegisteredModel | undefined> {
  parseModel(model);
  for (let attempt = 1; ; attempt++) {
    try {
      return await sql.begin(async (tx) => {
        if (options.role === 'if-none') {
          const [existing] = await tx`select 1 from risk_models where role = 'champion'`;
          if (existing) return undefined;
        } else if (options.role === 'champion') {
          await tx`update risk_models set role = 'retired' where role = 'champion'`;
        }
        const role: ModelRole = options.role === 'challenger' ? 'challenger' : 'champion';
        const [row] = await tx<Row[]>`
          insert into risk_models (version, role, source, model, metrics, note, promoted_at)
          select coalesce(max(version), 0) + 1, ${role}, ${options.source}, ${tx.json(model as never)},
                 ${tx.json(summarise(model) as never)}, ${options.note ?? ''},
                 ${role === 'champion' ? tx`now()` : null}
          from risk_models
          returning id, version, role, source, metrics, note, created_at, promoted_at`;
        return summary(row!);
      });
    } catch (err) {
      if (options.role === 'if-none' && isUniqueViolation(err)) return undefined;
      if (!isUniqueViolation(err) || attempt >= REGISTER_RETRIES) throw err;
    }
  }
}

export async function listModels(sql: Queryable): Promise<RegisteredModel[]> {
  const rows = await sql<Row[]>`
    select id, version, role, source, metrics, note, created_at, promoted_at
    from risk_models order by version desc`;
  return rows.map(summary);
}

export async function getModel(sql: Queryable, id: bigint): Promise<LoadedModel | undefined> {
  const [row] = await sql<Row[]>`select * from risk_models where id = ${id.toString()}::bigint`;
  return row && loaded(row);
}

export async function getModelByVersion(sql: Queryable, version: number): Promise<LoadedModel | undefined> {
  const [row] = await sql<Row[]>`select * from risk_models where version = ${version}`;
  return row && loaded(row);
}

export async function hasChampion(sql: Queryable): Promise<boolean> {
  const [existing] = await sql`select 1 from risk_models where role = 'champion'`;
  return existing !== undefined;
}

/** The champion and the challengers, models parsed. */
export async function activeModels(
  sql: Queryable,
): Promise<{ champion: LoadedModel | undefined; challengers: LoadedModel[] }> {
  const rows = await sql<Row[]>`
    select * from risk_models where role in ('champion', 'challenger') order by version`;
  const all = rows.map(loaded);
  return {
    champion: all.find((m) => m.role === 'champion'),
    challengers: all.filter((m) => m.role === 'challenger'),
  };
}

/** Identifies the active set: champion and challenger ids with their roles, then the policy version. */
export function stampOf(
  models: Pick<RegisteredModel, 'id' | 'role'>[],
  policyVersion: number | null,
): string {
  return `${models.map((m) => `${m.id}:${m.role}`).join(',')}|${policyVersion ?? ''}`;
}

/**
 * The stamp of what is active now, in one small query (no model JSON): decision processes compare
 * it with the stamp of what they hold and reload models only when it changed.
 */
export async function activeStamp(sql: Queryable): Promise<string> {
  const [row] = await sql<{ models: string | null; policy: number | null }[]>`
    select (select string_agg(id::text || ':' || role, ',' order by version) from risk_models
            where role in ('champion', 'challenger')) as models,
           (select version from risk_policy_versions where active) as policy`;
  return `${row?.models ?? ''}|${row?.policy ?? ''}`;
}

/** Makes a model the champion; the old champion is retired. Undefined when there is no such model. */
export async function promoteModel(
  sql: Sql,
  version: number,
  promotedBy: bigint | null = null,
): Promise<RegisteredModel | undefined> {
  return sql.begin((tx) => promoteModelIn(tx, version, promotedBy));
}

/** promoteModel inside the caller's transaction, with its audit event; the champion stays as it is. */
export async function promoteModelIn(
  tx: TransactionSql,
  version: number,
  promotedBy: bigint | null,
): Promise<RegisteredModel | undefined> {
  // Promotions take turns (decisions only read, and are not blocked): two at once would each retire
  // the champion they saw, and the second would hit risk_models_one_champion (a 500).
  await tx`lock table risk_models in share row exclusive mode`;
  const [target] = await tx<Row[]>`
    select id, version, role, source, metrics, note, created_at, promoted_at
    from risk_models where version = ${version} for update`;
  if (!target) return undefined;
  if (target.role === 'champion') return summary(target);
  await tx`update risk_models set role = 'retired' where role = 'champion' and version <> ${version}`;
  const [row] = await tx<Row[]>`
    update risk_models set role = 'champion', promoted_at = now() where version = ${version}
    returning id, version, role, source, metrics, note, created_at, promoted_at`;
  await recordAdminEvent(tx, {
    action: 'model_promoted',
    subject: `model ${version}`,
    staffId: promotedBy,
    detail: { from_role: target.role },
  });
  return summary(row!);
}

export type RoleChange =
  | { ok: true; model: RegisteredModel }
  | { ok: false; problem: 'not_found' | 'champion' };

/**
 * Makes a model a challenger (scored in shadow) or retires it. The champion cannot be moved this
 * way: decisions always need one, so promote another model first.
 */
export async function setModelRoleIn(
  tx: TransactionSql,
  version: number,
  role: 'challenger' | 'retired',
  changedBy: bigint | null,
): Promise<RoleChange> {
  const [target] = await tx<Row[]>`
    select id, version, role, source, metrics, note, created_at, promoted_at
    from risk_models where version = ${version} for update`;
  if (!target) return { ok: false, problem: 'not_found' };
  if (target.role === 'champion') return { ok: false, problem: 'champion' };
  if (target.role === role) return { ok: true, model: summary(target) };
  const [row] = await tx<Row[]>`
    update risk_models set role = ${role} where version = ${version}
    returning id, version, role, source, metrics, note, created_at, promoted_at`;
  await recordAdminEvent(tx, {
    action: 'model_role_changed',
    subject: `model ${version}`,
    staffId: changedBy,
    detail: { from_role: target.role, to_role: role },
  });
  return { ok: true, model: summary(row!) };
}

/** Newest first, without the model JSON; `beforeVersion` is the last version of the previous page. */
export async function listModelsPage(
  sql: Queryable,
  limit: number,
  beforeVersion: number | null,
): Promise<RegisteredModel[]> {
  const rows = await sql<Row[]>`
    select id, version, role, source, metrics, note, created_at, promoted_at from risk_models
    where ${beforeVersion === null ? sql`true` : sql`version < ${beforeVersion}`}
    order by version desc limit ${limit}`;
  return rows.map(summary);
}
