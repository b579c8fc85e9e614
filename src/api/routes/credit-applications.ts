/**
 * Credit applications: a customer applies and gets approve / decline / refer in milliseconds
 * (src/risk/service/decide.ts); risk staff work the refer queue and replay any stored decision through
 * the model and policy version it was made with. A customer asking for another customer's
 * decision gets 404, as for an id that does not exist.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { resolveReviewAs } from '../../credit/changes.ts';
import { CREDIT_LINE_MAX_MINOR } from '../../domain/credit-approval.ts';
import { CNY, formatAmount, parseAmount } from '../../domain/money.ts';
import type { Platform } from '../../platform.ts';
import { mask } from '../../privacy/masking.ts';
import { evaluate } from '../../risk/model/evaluate.ts';
import { type ApplicationInput, PURPOSES } from '../../risk/model/features.ts';
import { REASON_CODES } from '../../risk/model/policy.ts';
import type { Reason } from '../../risk/model/scorecard.ts';
import { CustomerNotFoundError, type Decision, deviceKeyOf } from '../../risk/service/decide.ts';
import { explainRules, type RuleExplanation } from '../../risk/service/explain.ts';
import { staffNames } from '../../store/back-office.ts';
import { getCustomer } from '../../store/customers.ts';
import { getDecision, isUnknownCustomer, type StoredDecision } from '../../store/decisions.ts';
import { getModel } from '../../store/models.ts';
import { getPolicy } from '../../store/policies.ts';
import { listReviews, REVIEW_PAGE_MAX, type ReviewItem } from '../../store/reviews.ts';
import { requireRole } from '../auth.ts';
import type { ErrorCode } from '../error-codes.ts';
import { notFound, refuse } from '../errors.ts';
import { Money, parseMoney } from '../money-input.ts';
import type { Api } from '../types.ts';
import { IdString, idFromPath, MAX_BIGINT_ID } from './ids.ts';
import { IdParams } from './lending-schemas.ts';
import { nextCursor, Page } from './page.ts';
import { ProposalView, proposalView } from './proposal-views.ts';

export const MAX_STATED_INCOME_MINOR = 100_000_000_00n; // 100 million a month: anything above is a typo
export const MAX_REQUESTED_AMOUNT_MINOR = 100_000_000_00n;
export const MAX_TENOR_MONTHS = 60;
const Amount = (description: string) =>
  Type.String({ ...Money, description: `${description}, decimal string` });

const Application = Type.Object(
  {
    stated_income: Amount('monthly income the applicant states, CNY'),
    purpose: Type.Union(
      PURPOSES.map((p) => Type.Literal(p)),
      { description: 'what the credit is for' },
    ),
    device_id: Type.String({ pattern: '^[A-Za-z0-9._:-]{8,128}$', description: 'the app install id' }),
    requested_amount: Type.Optional(Amount('largest amount the applicant expects to borrow')),
    tenor_months: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TENOR_MONTHS })),
  },
  { additionalProperties: false },
);

const ScoreReason = Type.Object({
  feature: Type.String(),
  bin: Type.String(),
  points: Type.Integer(),
  shortfall: Type.Integer(),
});
const ReasonView = Type.Object({ code: Type.String(), message: Type.String() });

const DecisionView = Type.Object({
  id: Type.String(),
  customer_id: Type.String(),
  decision: Type.Union([Type.Literal('approve'), Type.Literal('decline'), Type.Literal('refer')]),
  grade: Type.Union([Type.String(), Type.Null()]),
  score: Type.Union([Type.Integer(), Type.Null()]),
  line: Type.Union([Type.String(), Type.Null()], { description: 'credit line granted, CNY' }),
  currency: Type.String(),
  reasons: Type.Array(ReasonView),
  score_reasons: Type.Array(ScoreReason),
  degraded: Type.Array(Type.String()),
  customer_name: Type.Optional(
    Type.Union([Type.String(), Type.Null()], { description: 'masked; on staff reads only' }),
  ),
  rules: Type.Object(
    {
      fired: Type.Array(
        Type.Object({
          code: Type.String(),
          action: Type.String(),
          fact: Type.Union([Type.String(), Type.Null()]),
          observed: Type.Union([Type.Number(), Type.Boolean()]),
        }),
      ),
      unknown: Type.Array(
        Type.Object({ code: Type.String(), fact: Type.Union([Type.String(), Type.Null()]) }),
      ),
    },
    { description: 'hard rules that fired, apart from the rules that could not be checked (fact unknown)' },
  ),
  model_version: Type.Union([Type.Integer(), Type.Null()]),
  policy_version: Type.Integer(),
  review: Type.Union([
    Type.Null(),
    Type.Object({
      status: Type.String(),
      line: Type.Union([Type.String(), Type.Null()]),
      reason: Type.Union([Type.String(), Type.Null()]),
    }),
  ]),
  latency_ms: Type.Integer(),
  created_at: Type.String(),
});

const ReviewQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Union([Type.Literal('open'), Type.Literal('approved'), Type.Literal('declined')], {
        default: 'open',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: REVIEW_PAGE_MAX, default: 50 })),
    cursor: Type.Optional(IdString),
    /** The cursor's earlier name, still accepted. */
    after: Type.Optional(IdString),
  },
  { additionalProperties: false },
);
const ReviewItemView = Type.Object({
  decision_id: Type.String(),
  customer_id: Type.String(),
  status: Type.String(),
  grade: Type.Union([Type.String(), Type.Null()]),
  score: Type.Union([Type.Integer(), Type.Null()]),
  reasons: Type.Array(Type.String()),
  suggested_line: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  customer_name: Type.Union([Type.String(), Type.Null()], { description: 'masked (privacy/masking.ts)' }),
  waiting_s: Type.Integer({ description: 'seconds since referral (until resolved)' }),
  assignee: Type.Union([Type.String(), Type.Null()], { description: 'username of who works it' }),
  reviewer: Type.Union([Type.String(), Type.Null()], { description: 'username of who resolved it' }),
});
const ReviewBody = Type.Object(
  {
    decision: Type.Union([Type.Literal('approve'), Type.Literal('decline')]),
    line: Type.Optional(Amount('line to grant on approve')),
    reason: Type.Optional(
      Type.String({ pattern: '^[A-Z][A-Z0-9_]{1,63}$', description: 'reason code on decline' }),
    ),
  },
  { additionalProperties: false },
);

const ReplayView = Type.Object({
  id: Type.String(),
  matches: Type.Boolean(),
  differences: Type.Array(Type.String()),
  model_version: Type.Union([Type.Integer(), Type.Null()]),
  policy_version: Type.Integer(),
  original: Type.Object({}, { additionalProperties: true }),
  replayed: Type.Object({}, { additionalProperties: true }),
});

const money = (minor: bigint | null): string | null =>
  minor === null ? null : formatAmount(minor, CNY.decimals);
const reasonView = (code: string) => ({
  code,
  message: (REASON_CODES as Record<string, string>)[code] ?? 'declined by policy rule',
});

type DecisionFacts = Pick<
  StoredDecision,
  | 'id'
  | 'customerId'
  | 'outcome'
  | 'grade'
  | 'score'
  | 'lineMinor'
  | 'reasons'
  | 'policyVersion'
  | 'latencyMs'
  | 'createdAt'
>;

/** What a just-made decision holds directly and a stored one keeps in its result column. */
interface DecisionDetail {
  scoreReasons: Reason[];
  degraded: string[];
  rules: RuleExplanation;
  modelVersion: number | null;
  review: { status: string; line: string | null; reason: string | null } | null;
}

function decisionView(d: DecisionFacts, detail: DecisionDetail) {
  return {
    id: d.id.toString(),
    customer_id: d.customerId.toString(),
    decision: d.outcome,
    grade: d.grade,
    score: d.score,
    line: money(d.lineMinor),
    currency: CNY.code,
    reasons: d.reasons.map(reasonView),
    score_reasons: detail.scoreReasons,
    degraded: detail.degraded,
    rules: detail.rules,
    model_version: detail.modelVersion,
    policy_version: d.policyVersion,
    review: detail.review,
    latency_ms: d.latencyMs,
    created_at: d.createdAt.toISOString(),
  };
}

function fresh(d: Decision, customerId: bigint) {
  return decisionView(
    { ...d, customerId },
    {
      scoreReasons: d.scoreReasons,
      degraded: d.degraded,
      rules: explainRules(d.ruleHits),
      modelVersion: d.modelVersion,
      review: d.outcome === 'refer' ? { status: 'open', line: null, reason: null } : null,
    },
  );
}

function stored(d: StoredDecision) {
  const result = d.result as {
    scoreReasons?: unknown[];
    degraded?: string[];
    modelVersion?: number;
    ruleHits?: unknown;
  };
  return decisionView(d, {
    scoreReasons: (result.scoreReasons ?? []) as never,
    degraded: result.degraded ?? [],
    rules: explainRules(result.ruleHits),
    modelVersion: result.modelVersion ?? null,
    review: d.review && { status: d.review.status, line: money(d.review.lineMinor), reason: d.review.reason },
  });
}

/** The outcome fields a replay compares, as the API shows them. */
function comparable(
  e: Pick<StoredDecision, 'outcome' | 'score' | 'grade' | 'lineMinor' | 'reasons'>,
  points: Record<string, number>,
) {
  return {
    outcome: e.outcome,
    score: e.score,
    grade: e.grade,
    line: money(e.lineMinor),
    reasons: e.reasons,
    points,
  };
}

function boundedAmount(text: string, max: bigint, code: ErrorCode, what: string): bigint {
  return parseMoney(text, { maxMinor: max, code, what, allowZero: true });
}

/** JSON with object keys sorted: jsonb does not keep key order, and order carries no meaning here. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** Who a review is about (masked) and who works it, by name: one read per distinct person. */
async function reviewPeople(platform: Platform, items: readonly ReviewItem[]) {
  const names = new Map<string, string | null>();
  for (const id of new Set(items.map((r) => r.customerId.toString()))) {
    const c = await getCustomer(platform.db.sql, platform.services.crypto, BigInt(id));
    names.set(id, c ? mask('legal_name', c.legalName, 'staff') : null);
  }
  const staffIds = items.flatMap((r) => [r.assigneeId, r.reviewerId]).filter((id) => id !== null);
  const staff = await staffNames(platform.db.sql, staffIds);
  const nameOf = (id: bigint | null) => (id === null ? null : (staff.get(id.toString()) ?? null));
  return (r: ReviewItem) => ({
    customer_name: names.get(r.customerId.toString()) ?? null,
    waiting_s: r.waitingS,
    assignee: nameOf(r.assigneeId),
    reviewer: nameOf(r.reviewerId),
  });
}

export function creditApplicationRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  return async (app) => {
    // The embedded demo decides from its first request: train and register the bootstrap champion
    // at start. Real deployments register it on the first decision (or with `fenqi risk models`).
    if (platform.config.mode === 'embedded') {
      (app as unknown as Api).addHook('onReady', async () => {
        platform.services.risk
          .ensureChampion()
          .catch((err: Error) =>
            platform.logger.warn({ err: err.message }, 'could not register the bootstrap champion'),
          );
      });
    }

    applicationRoutes(app, platform);
    reviewRoutes(app, platform);
  };
}

/** Apply (decide), read a decision, and replay one through its stored model and policy. */
function applicationRoutes(app: Api, platform: Platform): void {
  const { db } = platform;
  const findDecision = async (text: string) => {
    const id = idFromPath(text);
    return id === undefined ? undefined : await getDecision(db.sql, id);
  };
  app.post(
    '/v1/credit-applications',
    {
      preHandler: requireRole('customer'),
      schema: {
        tags: ['risk'],
        summary: 'Apply for a credit line; decided in milliseconds',
        security: [{ bearer: [] }],
        body: Application,
        response: { 200: DecisionView },
      },
    },
    async (request) => {
      const body = request.body;
      const customerId = request.principal!.id;
      const application: ApplicationInput = {
        statedIncomeMinor: boundedAmount(
          body.stated_income,
          MAX_STATED_INCOME_MINOR,
          'INCOME_OUT_OF_RANGE',
          'stated income',
        ).toString(),
        purpose: body.purpose,
        requestedAmountMinor:
          body.requested_amount === undefined
            ? null
            : boundedAmount(
                body.requested_amount,
                MAX_REQUESTED_AMOUNT_MINOR,
                'AMOUNT_OUT_OF_RANGE',
                'requested amount',
              ).toString(),
        tenorMonths: body.tenor_months ?? null,
        deviceKey: deviceKeyOf(body.device_id),
      };
      let decision: Decision;
      try {
        decision = await platform.services.risk.decide(customerId, application);
      } catch (err) {
        if (err instanceof CustomerNotFoundError || isUnknownCustomer(err)) throw notFound('customer');
        throw err;
      }
      return fresh(decision, customerId);
    },
  );

  app.get(
    '/v1/credit-applications/:id',
    {
      preHandler: requireRole('customer', 'risk'),
      schema: {
        tags: ['risk'],
        summary: 'A decision: its own customer or risk staff',
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: DecisionView },
      },
    },
    async (request) => {
      const d = await findDecision(request.params.id);
      const principal = request.principal!;
      if (!d || (principal.role === 'customer' && d.customerId !== principal.id)) {
        throw notFound('credit application');
      }
      if (principal.role === 'customer') return stored(d);
      // staff read the customer by masked name (privacy/masking.ts), never by id alone
      const c = await getCustomer(db.sql, platform.services.crypto, d.customerId);
      return { ...stored(d), customer_name: c ? mask('legal_name', c.legalName, 'staff') : null };
    },
  );

  app.post(
    '/v1/credit-applications/:id/replay',
    {
      preHandler: requireRole('risk'),
      schema: {
        tags: ['risk'],
        summary: 'Re-run the stored inputs through the stored model and policy version and compare',
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: ReplayView },
      },
    },
    async (request) => {
      const d = await findDecision(request.params.id);
      if (!d) throw notFound('credit application');
      const model = d.modelId === null ? undefined : await getModel(db.sql, d.modelId);
      const policy = await getPolicy(db.sql, d.policyVersion);
      if (!model || !policy) throw refuse('NOT_REPLAYABLE', 'the model or policy of this decision is gone');
      const e = evaluate(d.inputs, model.model, policy.policy);
      const result = d.result as { points?: Record<string, number>; suggestedLineMinor?: string | null };
      const original = comparable(d, result.points ?? {});
      const replayed = comparable(e, e.points);
      const differences = (Object.keys(original) as (keyof typeof original)[]).filter(
        (k) => canonical(original[k]) !== canonical(replayed[k]),
      );
      return {
        id: d.id.toString(),
        matches: differences.length === 0,
        differences,
        model_version: model.version,
        policy_version: policy.version,
        original,
        replayed,
      };
    },
  );
}

/** The manual review queue and its resolutions. */
function reviewRoutes(app: Api, platform: Platform): void {
  const { db } = platform;
  app.get(
    '/v1/reviews',
    {
      preHandler: requireRole('risk'),
      schema: {
        tags: ['risk'],
        summary: 'The manual review queue, oldest first',
        security: [{ bearer: [] }],
        querystring: ReviewQuery,
        response: {
          200: Type.Object({
            ...Page(ReviewItemView).properties,
            next: Type.Union([Type.String(), Type.Null()], {
              description: 'next_cursor under its earlier name',
            }),
          }),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 50;
      const cursor = q.cursor ?? q.after;
      const after = cursor === undefined ? null : (idFromPath(cursor) ?? MAX_BIGINT_ID);
      const items = await listReviews(db.sql, q.status ?? 'open', limit, after);
      const next = nextCursor(items, limit, (r) => r.decisionId);
      const people = await reviewPeople(platform, items);
      return {
        items: items.map((r) => ({
          ...people(r),
          decision_id: r.decisionId.toString(),
          customer_id: r.customerId.toString(),
          status: r.status,
          grade: r.grade,
          score: r.score,
          reasons: r.reasons,
          suggested_line: money(r.suggestedLineMinor),
          created_at: r.createdAt.toISOString(),
        })),
        next_cursor: next,
        next,
      };
    },
  );

  app.post(
    '/v1/reviews/:id/decision',
    {
      preHandler: requireRole('risk'),
      schema: {
        tags: ['risk'],
        summary: 'Resolve a referred application: approve with a line, or decline with a reason',
        security: [{ bearer: [] }],
        params: IdParams,
        body: ReviewBody,
        response: { 200: DecisionView, 202: ProposalView },
      },
    },
    async (request, reply) => {
      const id = idFromPath(request.params.id);
      const body = request.body;
      let resolution: { approve: true; lineMinor: bigint } | { approve: false; reason: string };
      if (body.decision === 'approve') {
        if (body.line === undefined) throw refuse('LINE_REQUIRED', 'approving needs a line');
        if (body.reason !== undefined) throw refuse('REASON_NOT_ALLOWED', 'an approval carries no reason');
        const lineMinor = parseMoney(body.line, {
          maxMinor: CREDIT_LINE_MAX_MINOR,
          code: 'LINE_OUT_OF_RANGE',
          what: 'the line',
        });
        resolution = { approve: true, lineMinor };
      } else {
        if (body.reason === undefined) throw refuse('REASON_REQUIRED', 'declining needs a reason code');
        if (body.line !== undefined) throw refuse('LINE_NOT_ALLOWED', 'a decline carries no line');
        resolution = { approve: false, reason: body.reason };
      }
      if (id === undefined) throw notFound('review');
      const decision = await getDecision(db.sql, id);
      if (!decision) throw notFound('review');
      const done = await db.sql.begin((tx) =>
        resolveReviewAs(
          tx,
          request.principal!,
          { decisionId: id, grade: decision.grade },
          resolution,
          platform.config.secondApproverAboveMinor,
        ),
      );
      if (!done.ok) {
        if (done.problem === 'not_found') throw notFound('review');
        throw refuse('REVIEW_ALREADY_RESOLVED', 'this application has already been reviewed');
      }
      // Above the threshold or the policy's maximum: a second risk officer approves it.
      if ('proposed' in done) return reply.status(202).send(proposalView(done.proposed));
      const d = await getDecision(db.sql, id);
      return stored(d!);
    },
  );
}
