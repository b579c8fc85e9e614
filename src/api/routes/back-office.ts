/**
 * The reads behind the console's back-office pages (issue 17 item 4), staff only and read-only
 * except taking a review: the decision list with filters (risk), a customer's page (risk, ops),
 * the loans of a delinquency bucket (risk, ops), and who works a review (risk). Customers appear
 * by masked name (src/privacy/masking.ts), staff by username. Reads are bounded by a page size and
 * a statement timeout (src/store/back-office.ts); past it the answer is a retryable 503.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { addDays, isDate } from '../../domain/index.ts';
import type { Platform } from '../../platform.ts';
import { mask } from '../../privacy/masking.ts';
import { PURPOSES } from '../../risk/model/features.ts';
import { listAcceptances } from '../../store/agreements.ts';
import {
  BUCKET_LOANS_MAX,
  boundedRead,
  bucketLoans,
  customerCollectionNotes,
  customerDecisions,
  customerLoans,
  DECISION_LIST_MAX,
  type DecisionRow,
  listDecisions,
  type OwedLoan,
  staffNames,
} from '../../store/back-office.ts';
import { getCreditLine } from '../../store/credit-lines.ts';
import { getCustomer } from '../../store/customers.ts';
import { isQueryCanceled } from '../../store/db-errors.ts';
import { BUCKETS } from '../../store/ops-summary.ts';
import { assignReview } from '../../store/reviews.ts';
import { requireRole } from '../auth.ts';
import { badQuery, notFound, unavailable } from '../errors.ts';
import { AcceptanceView, acceptanceView } from './agreements.ts';
import { IdString, idFromPath, MAX_BIGINT_ID } from './ids.ts';
import { ErrorBody, IdParams, money, pathId } from './lending-schemas.ts';
import { nextCursor, Page } from './page.ts';

/** The longest date range the decision list accepts. */
export const DECISION_RANGE_DAYS_MAX = 366;
const DECISION_PAGE_DEFAULT = 50;
const DateString = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

const DecisionQuery = Type.Object(
  {
    outcome: Type.Optional(Type.Enum(['approve', 'decline', 'refer'] as const)),
    grade: Type.Optional(Type.Enum(['A', 'B', 'C', 'D', 'E'] as const)),
    product: Type.Optional(Type.Enum(PURPOSES, { description: 'what the credit was asked for' })),
    from: Type.Optional(DateString),
    to: Type.Optional(DateString),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: DECISION_LIST_MAX })),
    cursor: Type.Optional(IdString),
  },
  { additionalProperties: false },
);

const DecisionItem = Type.Object({
  id: Type.String(),
  customer_id: Type.String(),
  customer_name: Nullable(Type.String()),
  decision: Type.String(),
  grade: Nullable(Type.String()),
  score: Type.Union([Type.Integer(), Type.Null()]),
  line: Nullable(Type.String()),
  reasons: Type.Array(Type.String()),
  product: Nullable(Type.String()),
  review_status: Nullable(Type.String()),
  created_at: Type.String(),
});

const LoanItem = Type.Object({
  id: Type.String(),
  customer_id: Type.String(),
  customer_name: Nullable(Type.String()),
  kind: Type.String(),
  status: Type.String(),
  principal: Type.String(),
  owed: Type.String({ description: 'what the unpaid installments still owe, every component, CNY' }),
  days_past_due: Type.Integer(),
  bucket: Type.String(),
  start_date: Type.String(),
});

const CustomerOverview = Type.Object({
  customer: Type.Object({
    id: Type.String(),
    name: Type.String(),
    phone: Type.String(),
    national_id: Type.String(),
    status: Type.String(),
    since: Type.String(),
  }),
  credit_line: Type.Union([
    Type.Null(),
    Type.Object({ limit: Type.String(), used: Type.String(), status: Type.String() }),
  ]),
  max_days_past_due: Type.Integer(),
  loans: Type.Array(LoanItem),
  decisions: Type.Array(DecisionItem),
  collection_notes: Type.Array(
    Type.Object({
      loan_id: Type.String(),
      channel: Type.String(),
      outcome: Type.String(),
      collector: Nullable(Type.String()),
      promise_date: Nullable(Type.String()),
      promise_amount: Nullable(Type.String()),
      business_date: Type.String(),
    }),
  ),
  agreements: Type.Array(AcceptanceView, {
    description: 'loan agreement acceptances, newest first: version, hash of the text shown, terms, use',
  }),
});

const tooSlow = (err: unknown): never => {
  if (isQueryCanceled(err))
    throw unavailable('DATABASE_UNAVAILABLE', 'the list took too long to read; retry shortly', 5);
  throw err;
};

export function backOfficeRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const { sql } = platform.db;
  /** Masked names, one decryption per distinct customer. */
  const maskedNames = async (ids: readonly bigint[]) => {
    const names = new Map<string, string | null>();
    for (const id of new Set(ids.map(String))) {
      const c = await getCustomer(sql, platform.services.crypto, BigInt(id));
      names.set(id, c ? mask('legal_name', c.legalName, 'staff') : null);
    }
    return names;
  };
  const decisionItem = (d: DecisionRow, names: Map<string, string | null>) => ({
    id: d.id.toString(),
    customer_id: d.customerId.toString(),
    customer_name: names.get(d.customerId.toString()) ?? null,
    decision: d.outcome,
    grade: d.grade,
    score: d.score,
    line: d.lineMinor === null ? null : money(d.lineMinor),
    reasons: d.reasons,
    product: d.purpose,
    review_status: d.reviewStatus,
    created_at: d.createdAt.toISOString(),
  });
  const loanItem = (l: OwedLoan, names: Map<string, string | null>) => ({
    id: l.id.toString(),
    customer_id: l.customerId.toString(),
    customer_name: names.get(l.customerId.toString()) ?? null,
    kind: l.kind,
    status: l.status,
    principal: money(l.principalMinor),
    owed: money(l.owedMinor),
    days_past_due: l.daysPastDue,
    bucket: l.bucket,
    start_date: l.startDate,
  });
  return async (app) => {
    app.get(
      '/v1/decisions',
      {
        preHandler: requireRole('risk'),
        schema: {
          tags: ['risk'],
          summary: 'Credit decisions, newest first, by outcome, grade, product and business-date range',
          security: [{ bearer: [] }],
          querystring: DecisionQuery,
          response: { 200: Page(DecisionItem), 400: ErrorBody, 503: ErrorBody },
        },
      },
      async (request) => {
        const q = request.query;
        checkRange(q.from, q.to);
        const limit = q.limit ?? DECISION_PAGE_DEFAULT;
        const rows = await boundedRead(sql, (tx) =>
          listDecisions(tx, {
            outcome: q.outcome,
            grade: q.grade,
            purpose: q.product,
            fromDate: q.from,
            toDate: q.to,
            timeZone: platform.config.businessTimeZone,
            beforeId: q.cursor === undefined ? undefined : (idFromPath(q.cursor) ?? MAX_BIGINT_ID),
            limit,
          }),
        ).catch(tooSlow);
        const names = await maskedNames(rows.map((d) => d.customerId));
        return {
          items: rows.map((d) => decisionItem(d, names)),
          next_cursor: nextCursor(rows, limit, (d) => d.id),
        };
      },
    );

    app.get(
      '/v1/ops/buckets/:bucket/loans',
      {
        preHandler: requireRole('risk', 'ops'),
        schema: {
          tags: ['ops'],
          summary: 'The active loans of one delinquency bucket with what each still owes',
          security: [{ bearer: [] }],
          params: Type.Object({ bucket: Type.Enum(BUCKETS) }),
          querystring: Type.Object(
            {
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: BUCKET_LOANS_MAX })),
              cursor: Type.Optional(IdString),
            },
            { additionalProperties: false },
          ),
          response: { 200: Page(LoanItem), 503: ErrorBody },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? BUCKET_LOANS_MAX;
        const cursor = request.query.cursor;
        const after = cursor === undefined ? null : (idFromPath(cursor) ?? MAX_BIGINT_ID);
        const rows = await boundedRead(sql, (tx) =>
          bucketLoans(tx, request.params.bucket, limit, after),
        ).catch(tooSlow);
        const names = await maskedNames(rows.map((l) => l.customerId));
        return {
          items: rows.map((l) => loanItem(l, names)),
          next_cursor: nextCursor(rows, limit, (l) => l.id),
        };
      },
    );

    app.get(
      '/v1/customers/:id/overview',
      {
        preHandler: requireRole('risk', 'ops'),
        schema: {
          tags: ['customers'],
          summary:
            "A customer's back-office page: identity masked, line, loans, decisions, collections notes",
          security: [{ bearer: [] }],
          params: IdParams,
          response: { 200: CustomerOverview, 404: ErrorBody, 503: ErrorBody },
        },
      },
      async (request) => {
        const id = pathId(request.params.id, 'customer');
        const c = await getCustomer(sql, platform.services.crypto, id);
        if (!c) throw notFound('customer');
        const [line, loans, decisions, notes, agreements] = await boundedRead(sql, (tx) =>
          Promise.all([
            getCreditLine(tx, id),
            customerLoans(tx, id),
            customerDecisions(tx, id),
            customerCollectionNotes(tx, id),
            listAcceptances(tx, id),
          ]),
        ).catch(tooSlow);
        const name = mask('legal_name', c.legalName, 'staff');
        const names = new Map([[id.toString(), name]]);
        return {
          customer: {
            id: id.toString(),
            name,
            phone: mask('phone', c.phone, 'staff'),
            national_id: mask('national_id', c.nationalId, 'staff'),
            status: c.status,
            since: c.createdAt.toISOString(),
          },
          credit_line: line && {
            limit: money(line.limitMinor),
            used: money(line.usedMinor),
            status: line.status,
          },
          max_days_past_due: loans
            .filter((l) => l.status === 'active')
            .reduce((m, l) => Math.max(m, l.daysPastDue), 0),
          loans: loans.map((l) => loanItem(l, names)),
          decisions: decisions.map((d) => decisionItem(d, names)),
          collection_notes: notes.map((n) => ({
            loan_id: n.loanId.toString(),
            channel: n.channel,
            outcome: n.outcome,
            collector: n.collectorName,
            promise_date: n.promiseDate,
            promise_amount: n.promiseAmountMinor === null ? null : money(n.promiseAmountMinor),
            business_date: n.businessDate,
          })),
          agreements: agreements.map(acceptanceView),
        };
      },
    );

    app.put(
      '/v1/reviews/:id/assignee',
      {
        preHandler: requireRole('risk'),
        schema: {
          tags: ['risk'],
          summary: 'Take an open review: the caller becomes its assignee',
          security: [{ bearer: [] }],
          params: IdParams,
          response: {
            200: Type.Object({ decision_id: Type.String(), assignee: Type.String() }),
            404: ErrorBody,
          },
        },
      },
      async (request) => {
        const id = pathId(request.params.id, 'open review');
        const me = request.principal!.id;
        if (!(await assignReview(sql, id, me))) throw notFound('open review');
        const names = await staffNames(sql, [me]);
        return { decision_id: id.toString(), assignee: names.get(me.toString()) ?? me.toString() };
      },
    );
  };
}

function checkRange(from: string | undefined, to: string | undefined): void {
  for (const d of [from, to]) {
    if (d !== undefined && !isDate(d)) throw badQuery('DATE_RANGE_INVALID', `${d} is not a calendar date`);
  }
  if (from === undefined || to === undefined) return;
  if (from > to) throw badQuery('DATE_RANGE_INVALID', 'the range starts after it ends');
  if (addDays(from, DECISION_RANGE_DAYS_MAX) < to) {
    throw badQuery('DATE_RANGE_INVALID', `the range is longer than ${DECISION_RANGE_DAYS_MAX} days`);
  }
}
