/**
 * Risk administration for risk staff: publish and roll back policy versions, keep the deny list,
 * move models between champion, challenger and retired, and read the audit trail of all of it.
 * Changes apply at once in this process (the decision service's refresh()) and within ACTIVE_REFRESH_MS in every other
 * decision process; deny-list changes apply to the next decision everywhere (it is read per
 * decision). Deny-list values (phone, national id) travel only in request bodies, never in a URL,
 * and only their blind index is stored or shown (as an 8-hex-digit fingerprint).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Platform } from '../../platform.ts';
import {
  checkPolicy,
  FACT_NAMES,
  POLICY_INCOME_MULTIPLE_BP_MAX,
  POLICY_MARGIN_POINTS_MAX,
  POLICY_RULE_DESCRIPTION_MAX_LENGTH,
  POLICY_RULE_VALUE_MAX,
  POLICY_RULES_MAX,
  PolicyError,
} from '../../risk/model/policy.ts';
import { GRADES } from '../../risk/model/scorecard.ts';
import type { Sql, TransactionSql } from '../../store/db.ts';
import { isUnknownStaff } from '../../store/db-errors.ts';
import {
  addDenyEntry,
  DENY_LIST_PAGE_MAX,
  DENY_REASON_MAX_LENGTH,
  type DenyEntry,
  type DenyKey,
  type DenyKind,
  denyKeyOf,
  findDenyEntry,
  listDenyEntries,
  removeDenyEntry,
} from '../../store/deny-list.ts';
import {
  listModelsPage,
  MODEL_PAGE_MAX,
  promoteModelIn,
  type RegisteredModel,
  setModelRoleIn,
} from '../../store/models.ts';
import {
  activatePolicyIn,
  getPolicyVersion,
  listPolicyVersions,
  POLICY_NOTE_MAX_LENGTH,
  POLICY_PAGE_MAX,
  type PolicyVersionInfo,
  publishPolicyIn,
  type StoredPolicy,
} from '../../store/policies.ts';
import { ADMIN_EVENTS_PAGE_MAX, listAdminEvents } from '../../store/risk-admin-events.ts';
import { requireRole } from '../auth.ts';
import { refuse, unauthorized } from '../errors.ts';
import { type Answer, IdempotencyHeaders, idempotent } from '../plugins/idempotency.ts';
import type { Api } from '../types.ts';
import { IdString, idFromPath, MAX_BIGINT_ID } from './ids.ts';
import { ErrorBody } from './lending-schemas.ts';
import { nextCursor, Page } from './page.ts';

/** Longest deny-list value accepted before parsing (a phone with +86, spaces and dashes fits). */
export const DENY_VALUE_MAX_LENGTH = 32;
const DEFAULT_PAGE = 50;
const MAX_VERSION = 2_147_483_647;

// ---------------------------------------------------------------------------------------------
// Schemas

const Grade = Type.Enum(GRADES);
const Rule = Type.Object(
  {
    code: Type.String({ pattern: '^[A-Z][A-Z0-9_]{1,63}$', description: 'stable reason code' }),
    fact: Type.Enum(FACT_NAMES),
    op: Type.Enum(['lt', 'lte', 'gt', 'gte', 'eq', 'ne'] as const),
    value: Type.Union([
      Type.Number({ minimum: -POLICY_RULE_VALUE_MAX, maximum: POLICY_RULE_VALUE_MAX }),
      Type.Boolean(),
    ]),
    action: Type.Enum(['decline', 'refer'] as const),
    whenMissing: Type.Enum(['skip', 'refer'] as const, { description: 'when the fact is unknown' }),
    description: Type.String({ maxLength: POLICY_RULE_DESCRIPTION_MAX_LENGTH }),
  },
  { additionalProperties: false },
);
const Degradation = Type.Object(
  {
    referMarginPoints: Type.Integer({
      minimum: -POLICY_MARGIN_POINTS_MAX,
      maximum: POLICY_MARGIN_POINTS_MAX,
    }),
    lineFactorBp: Type.Integer({ minimum: 0, maximum: 10_000 }),
  },
  { additionalProperties: false },
);
const MultipleBp = Type.Integer({ minimum: 0, maximum: POLICY_INCOME_MULTIPLE_BP_MAX });
const MinorUnits = Type.String({ pattern: '^\\d{1,18}$', description: 'minor units (fen)' });
const PolicySchema = Type.Object(
  {
    rules: Type.Array(Rule, { maxItems: POLICY_RULES_MAX }),
    approveGrades: Type.Array(Grade, { maxItems: GRADES.length }),
    referGrades: Type.Array(Grade, { maxItems: GRADES.length }),
    degradation: Type.Object(
      { score: Degradation, bureau: Degradation, velocity: Degradation },
      { additionalProperties: false },
    ),
    line: Type.Object(
      {
        incomeMultipleBp: Type.Object(
          { A: MultipleBp, B: MultipleBp, C: MultipleBp, D: MultipleBp, E: MultipleBp },
          { additionalProperties: false },
        ),
        minLineMinor: MinorUnits,
        maxLineMinor: MinorUnits,
        maxLineMinorByGrade: Type.Optional(
          Type.Object(
            {
              A: Type.Optional(MinorUnits),
              B: Type.Optional(MinorUnits),
              C: Type.Optional(MinorUnits),
              D: Type.Optional(MinorUnits),
              E: Type.Optional(MinorUnits),
            },
            { additionalProperties: false, description: 'a lower maximum line for some grades' },
          ),
        ),
        roundMinor: MinorUnits,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: 'a policy document, see docs/risk.md' },
);
const Note = Type.String({ minLength: 1, maxLength: POLICY_NOTE_MAX_LENGTH, description: 'why' });
const PublishBody = Type.Object({ policy: PolicySchema, note: Note }, { additionalProperties: false });
const NoteBody = Type.Object({ note: Note }, { additionalProperties: false });
const VersionParams = Type.Object({ version: Type.Integer({ minimum: 1, maximum: MAX_VERSION }) });
const VersionCursorQuery = (max: number) =>
  Type.Object(
    {
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: max, default: DEFAULT_PAGE })),
      cursor: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_VERSION })),
    },
    { additionalProperties: false },
  );

const PolicyInfoView = Type.Object({
  version: Type.Integer(),
  active: Type.Boolean(),
  note: Type.String(),
  published_by: Type.Union([Type.String(), Type.Null()], { description: 'staff id; null from the CLI' }),
  created_at: Type.String(),
});
const PolicyView = Type.Object({
  version: Type.Integer(),
  active: Type.Boolean(),
  note: Type.String(),
  published_by: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  policy: PolicySchema,
});

const Kind = Type.Enum(['phone', 'national_id'] as const);
const DenyValue = Type.String({
  minLength: 1,
  maxLength: DENY_VALUE_MAX_LENGTH,
  description: 'the phone or national id number; only its blind index is stored',
});
const DenyAddBody = Type.Object(
  {
    kind: Kind,
    value: DenyValue,
    reason: Type.String({
      minLength: 1,
      maxLength: DENY_REASON_MAX_LENGTH,
      description: 'why, for staff; no personal data',
    }),
  },
  { additionalProperties: false },
);
const DenyRemoveBody = Type.Object(
  {
    kind: Kind,
    value: DenyValue,
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: DENY_REASON_MAX_LENGTH })),
  },
  { additionalProperties: false },
);
const DenyLookupBody = Type.Object({ kind: Kind, value: DenyValue }, { additionalProperties: false });
const DenyListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: DENY_LIST_PAGE_MAX, default: DEFAULT_PAGE })),
    cursor: Type.Optional(IdString),
    kind: Type.Optional(Kind),
  },
  { additionalProperties: false },
);
const DenyEntryView = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  fingerprint: Type.String({ description: 'first 8 hex digits of the blind index' }),
  reason: Type.String(),
  added_by: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
});

const ModelView = Type.Object({
  version: Type.Integer(),
  id: Type.String(),
  role: Type.String(),
  source: Type.String(),
  note: Type.String(),
  metrics: Type.Object({
    auc: Type.Union([Type.Number(), Type.Null()]),
    gini: Type.Union([Type.Number(), Type.Null()]),
    ks: Type.Union([Type.Number(), Type.Null()]),
    rows: Type.Integer(),
    bads: Type.Integer(),
    features: Type.Array(Type.String()),
  }),
  created_at: Type.String(),
  promoted_at: Type.Union([Type.String(), Type.Null()]),
});
const RoleBody = Type.Object(
  { role: Type.Enum(['challenger', 'retired'] as const) },
  { additionalProperties: false },
);

const EventsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: ADMIN_EVENTS_PAGE_MAX, default: DEFAULT_PAGE })),
    cursor: Type.Optional(IdString),
  },
  { additionalProperties: false },
);
const EventView = Type.Object({
  id: Type.String(),
  action: Type.String(),
  subject: Type.String(),
  staff_id: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Object({}, { additionalProperties: true }),
  created_at: Type.String(),
});

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody };

// ---------------------------------------------------------------------------------------------
// Views

const idText = (id: bigint | null) => (id === null ? null : id.toString());

const policyInfoView = (p: PolicyVersionInfo) => ({
  version: p.version,
  active: p.active,
  note: p.note,
  published_by: idText(p.publishedBy),
  created_at: p.createdAt.toISOString(),
});
const policyView = (p: StoredPolicy) => ({ ...policyInfoView(p), policy: p.policy });

const denyView = (e: DenyEntry) => ({
  id: e.id.toString(),
  kind: e.kind,
  fingerprint: e.fingerprint,
  reason: e.reason,
  added_by: idText(e.addedBy),
  created_at: e.createdAt.toISOString(),
});

const modelView = (m: RegisteredModel) => ({
  version: m.version,
  id: m.id.toString(),
  role: m.role,
  source: m.source,
  note: m.note,
  metrics: {
    auc: m.metrics.auc ?? null,
    gini: m.metrics.gini ?? null,
    ks: m.metrics.ks ?? null,
    rows: m.metrics.rows,
    bads: m.metrics.bads,
    features: m.metrics.features,
  },
  created_at: m.createdAt.toISOString(),
  promoted_at: m.promotedAt?.toISOString() ?? null,
});

const policyNotFound = (version: number) =>
  refuse('POLICY_NOT_FOUND', `no policy version ${version}`, { version });
const modelNotFound = (version: number) =>
  refuse('MODEL_NOT_FOUND', `no model version ${version}`, { version });

function invalidPolicy(err: unknown): never {
  if (err instanceof PolicyError) throw refuse('POLICY_INVALID', err.message);
  throw err;
}

/** What the route groups below share: the change runner, deny-key parsing and route options. */
interface AdminContext {
  sql: Sql;
  change: (
    request: FastifyRequest,
    reply: FastifyReply,
    effect: (tx: TransactionSql) => Promise<Answer>,
  ) => Promise<FastifyReply>;
  denyKey: (kind: DenyKind, value: string) => DenyKey;
  route: { preHandler: ReturnType<typeof requireRole> };
  tags: string[];
  security: { bearer: never[] }[];
}

export function riskAdminRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  const riskOnly = requireRole('risk');

  /**
   * Runs a change in one transaction. With an Idempotency-Key it goes through the idempotency
   * plugin (a retry replays the stored answer instead of changing anything twice); without one it
   * simply runs. Either way this process drops its cached models and policy afterwards.
   */
  async function change(
    request: FastifyRequest,
    reply: FastifyReply,
    effect: (tx: TransactionSql) => Promise<Answer>,
  ): Promise<FastifyReply> {
    const guarded = async (tx: TransactionSql) => {
      try {
        return await effect(tx);
      } catch (err) {
        if (isUnknownStaff(err)) throw unauthorized('the staff account of this token does not exist');
        throw err;
      }
    };
    try {
      const key = request.headers['idempotency-key'];
      if (key === '') {
        throw refuse('IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key is empty: leave it out or send one');
      }
      if (key !== undefined) return await idempotent(sql, request, reply, { effect: guarded });
      const answer = await sql.begin(guarded);
      return reply.status(answer.statusCode).send(answer.body);
    } finally {
      platform.services.risk.refresh();
    }
  }

  const denyKey = (kind: DenyKind, value: string): DenyKey => {
    const key = denyKeyOf(platform.config.blindIndexKey, kind, value);
    if (key) return key;
    throw kind === 'phone'
      ? refuse('INVALID_PHONE', 'a mobile number is 11 digits starting with 1')
      : refuse(
          'INVALID_NATIONAL_ID',
          'a national id number is 18 characters with a valid birth date and check character',
        );
  };

  const route = { preHandler: riskOnly };
  const tags = ['risk admin'];
  const security = [{ bearer: [] }];

  const ctx: AdminContext = { sql, change, denyKey, route, tags, security };
  return async (app) => {
    policyRoutes(app, ctx);
    denyListRoutes(app, ctx);
    modelRoutes(app, ctx);
    auditRoutes(app, ctx);
  };
}

/** Publish, list, show and roll back policy versions. */
function policyRoutes(app: Api, ctx: AdminContext): void {
  const { sql, change, route, tags, security } = ctx;
  app.get(
    '/v1/risk/policies',
    {
      ...route,
      schema: {
        tags,
        security,
        summary: 'Policy versions, newest first (without the documents)',
        querystring: VersionCursorQuery(POLICY_PAGE_MAX),
        response: { 200: Page(PolicyInfoView), ...errors },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_PAGE;
      const items = await listPolicyVersions(sql, limit, request.query.cursor ?? null);
      return {
        items: items.map(policyInfoView),
        next_cursor: nextCursor(items, limit, (i) => i.version),
      };
    },
  );

  app.get(
    '/v1/risk/policies/active',
    {
      ...route,
      schema: {
        tags,
        security,
        summary: 'The policy version decisions are made under now',
        response: { 200: PolicyView, 404: ErrorBody, ...errors },
      },
    },
    async () => {
      const active = await getPolicyVersion(sql, 'active');
      if (!active) {
        throw refuse(
          'POLICY_NOT_FOUND',
          'no policy yet: the default is installed by the first decision, or publish one',
        );
      }
      return policyView(active);
    },
  );

  app.get(
    '/v1/risk/policies/:version',
    {
      ...route,
      schema: {
        tags,
        security,
        summary: 'One policy version with its document',
        params: VersionParams,
        response: { 200: PolicyView, 404: ErrorBody, ...errors },
      },
    },
    async (request) => {
      const found = await getPolicyVersion(sql, request.params.version);
      if (!found) throw policyNotFound(request.params.version);
      return policyView(found);
    },
  );

  app.post(
    '/v1/risk/policies',
    {
      ...route,
      schema: {
        tags,
        security,
        summary: 'Publish a policy as a new active version (optional Idempotency-Key)',
        headers: IdempotencyHeaders,
        body: PublishBody,
        response: { 201: PolicyView, 409: ErrorBody, 422: ErrorBody, ...errors },
      },
    },
    async (request, reply) => {
      let policy: ReturnType<typeof checkPolicy>;
      try {
        policy = checkPolicy(request.body.policy);
      } catch (err) {
        invalidPolicy(err);
      }
      const { note } = request.body;
      const by = request.principal!.id;
      return change(request, reply, async (tx) => ({
        statusCode: 201,
        body: policyView(await publishPolicyIn(tx, policy, note, by)),
      }));
    },
  );

  app.post(
    '/v1/risk/policies/:version/activate',
    {
      ...route,
      schema: {
        tags,
        security,
        summary: 'Roll back: copy an earlier version into a new active version (optional Idempotency-Key)',
        headers: IdempotencyHeaders,
        params: VersionParams,
        body: NoteBody,
        response: { 201: PolicyView, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody, ...errors },
      },
    },
    async (request, reply) => {
      const { version } = request.params;
      const by = request.principal!.id;
      const note = `rollback to version ${version}: ${request.body.note}`;
      return change(request, reply, async (tx) => {
        const done = await activatePolicyIn(tx, version, note, by).catch(invalidPolicy);
        if (!done.ok) {
          if (done.problem === 'not_found') throw policyNotFound(version);
          throw refuse('POLICY_ALREADY_ACTIVE', `policy version ${version} is the active one`, {
            version,
          });
        }
        return { statusCode: 201, body: policyView(done.policy) };
      });
    },
  );
}

/** Add, check, list and remove deny-list entries (values only in bodies). */
function denyListRoutes(app: Api, ctx: AdminContext): void {
  const { sql, change, denyKey, route, tags, security } = ctx;
  app.get(
    '/v1/risk/deny-list',
    {
      ...route,
      schema: {
        tags,
        security,
        summary: 'Deny-list entries, newest first: kind, fingerprint and reason, never the value',
        querystring: DenyListQuery,
        response: { 200: Page(DenyEntryView), ...errors },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? DEFAULT_PAGE;
      const before = q.cursor === undefined ? null : (idFromPath(q.cursor) ?? MAX_BIGINT_ID);
      const items = await listDenyEntries(sql, limit, before, q.kind);
      return {
        items: items.map(denyView),
        next_cursor: nextCursor(items, limit, (i) => i.id),
      };
    },
  );

  app.post(
    '/v1/risk/deny-list',
    {
      ...route,
      schema: {
        tags,
        security,
        summary: 'Add a phone or national id: 201 when added, 200 when it was already listed',
        body: DenyAddBody,
        response: { 200: DenyEntryView, 201: DenyEntryView, 422: ErrorBody, ...errors },
      },
    },
    async (request, reply) => {
      const { kind, value, reason } = request.body;
      const key = denyKey(kind, value);
      const by = request.principal!.id;
      return change(request, reply, async (tx) => {
        const added = await addDenyEntry(tx, key, reason, by);
        return { statusCode: added.created ? 201 : 200, body: denyView(added.entry) };
      });
    },
  );

  app.post(
    '/v1/risk/deny-list/remove',
    {
      ...route,
      schema: {
        tags,
        security,
        summary: 'Remove a phone or national id from the deny list',
        body: DenyRemoveBody,
        response: { 200: DenyEntryView, 404: ErrorBody, 422: ErrorBody, ...errors },
      },
    },
    async (request, reply) => {
      const { kind, value, reason } = request.body;
      const key = denyKey(kind, value);
      const by = request.principal!.id;
      return change(request, reply, async (tx) => {
        const removed = await removeDenyEntry(tx, key, by, reason ?? '');
        if (!removed) {
          throw refuse('DENY_LIST_ENTRY_NOT_FOUND', `this ${kind} is not on the deny list`);
        }
        return { statusCode: 200, body: denyView(removed) };
      });
    },
  );

  app.post(
    '/v1/risk/deny-list/check',
    {
      ...route,
      schema: {
        tags,
        security,
        summary: 'Is this phone or national id on the deny list? (a POST: the value stays out of URLs)',
        body: DenyLookupBody,
        response: {
          200: Type.Object({ listed: Type.Boolean(), entry: Type.Union([DenyEntryView, Type.Null()]) }),
          422: ErrorBody,
          ...errors,
        },
      },
    },
    async (request) => {
      const found = await findDenyEntry(sql, denyKey(request.body.kind, request.body.value));
      return { listed: found !== undefined, entry: found ? denyView(found) : null };
    },
  );
}

/** List models; promote one to champion; make one a challenger or retire it. */
function modelRoutes(app: Api, ctx: AdminContext): void {
  const { sql, change, route, tags, security } = ctx;
  app.get(
    '/v1/risk/models',
    {
      ...route,
      schema: {
        tags,
        security,
        summary: 'The model registry, newest first: role and training metrics',
        querystring: VersionCursorQuery(MODEL_PAGE_MAX),
        response: { 200: Page(ModelView), ...errors },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_PAGE;
      const items = await listModelsPage(sql, limit, request.query.cursor ?? null);
      return {
        items: items.map(modelView),
        next_cursor: nextCursor(items, limit, (i) => i.version),
      };
    },
  );

  app.post(
    '/v1/risk/models/:version/promote',
    {
      ...route,
      schema: {
        tags,
        security,
        summary: 'Make a model the champion; the old champion is retired',
        params: VersionParams,
        response: { 200: ModelView, 404: ErrorBody, ...errors },
      },
    },
    async (request, reply) => {
      const { version } = request.params;
      const by = request.principal!.id;
      return change(request, reply, async (tx) => {
        const promoted = await promoteModelIn(tx, version, by);
        if (!promoted) throw modelNotFound(version);
        return { statusCode: 200, body: modelView(promoted) };
      });
    },
  );

  app.post(
    '/v1/risk/models/:version/role',
    {
      ...route,
      schema: {
        tags,
        security,
        summary: 'Score a model in shadow (challenger) or retire it; the champion cannot be moved',
        params: VersionParams,
        body: RoleBody,
        response: { 200: ModelView, 404: ErrorBody, 409: ErrorBody, ...errors },
      },
    },
    async (request, reply) => {
      const { version } = request.params;
      const by = request.principal!.id;
      return change(request, reply, async (tx) => {
        const done = await setModelRoleIn(tx, version, request.body.role, by);
        if (!done.ok) {
          if (done.problem === 'not_found') throw modelNotFound(version);
          throw refuse(
            'MODEL_IS_CHAMPION',
            `model version ${version} is the champion: promote another model first`,
            { version },
          );
        }
        return { statusCode: 200, body: modelView(done.model) };
      });
    },
  );
}

/** The append-only trail of every change above. */
function auditRoutes(app: Api, ctx: AdminContext): void {
  const { sql, route, tags, security } = ctx;
  app.get(
    '/v1/risk/audit',
    {
      ...route,
      schema: {
        tags,
        security,
        summary: 'Who changed policy, deny list and models, newest first',
        querystring: EventsQuery,
        response: { 200: Page(EventView), ...errors },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? DEFAULT_PAGE;
      const before = q.cursor === undefined ? null : (idFromPath(q.cursor) ?? MAX_BIGINT_ID);
      const items = await listAdminEvents(sql, limit, before);
      return {
        items: items.map((e) => ({
          id: e.id.toString(),
          action: e.action,
          subject: e.subject,
          staff_id: idText(e.staffId),
          detail: e.detail,
          created_at: e.createdAt.toISOString(),
        })),
        next_cursor: nextCursor(items, limit, (i) => i.id),
      };
    },
  );
}
