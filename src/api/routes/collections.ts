/**
 * Collections (issue 15): the work queue of delinquent loans for the `collector` role (and ops),
 * assignment (ops), the contact log with outcome codes and promises to pay (the assigned collector
 * or ops), and the hardship pause of delinquency with the customer's consent (ops).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  CONTACT_CHANNELS,
  CONTACT_OUTCOMES,
  forwardDateRefusal,
  MAX_PAUSE_DAYS,
  MAX_PROMISE_DAYS,
} from '../../domain/collections.ts';
import { isDate } from '../../domain/index.ts';
import type { Platform } from '../../platform.ts';
import { mask } from '../../privacy/masking.ts';
import {
  assignCase,
  caseAssignee,
  caseContacts,
  caseOf,
  collectionsQueue,
  collectors,
  logContact,
  pauseDelinquency,
} from '../../store/collections.ts';
import { getCustomer } from '../../store/customers.ts';
import { getLoan, type Loan } from '../../store/loans.ts';
import { recordStaffAction } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { forbidden, notFound, refuse } from '../errors.ts';
import { IdString } from './ids.ts';
import { ErrorBody, IdParams, Money, money, pathId, positiveAmount } from './lending-schemas.ts';

const DateString = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

export function collectionRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  const security = [{ bearer: [] }];
  const tags = ['collections'];
  async function activeLoan(id: string): Promise<Loan> {
    const loan = await getLoan(sql, pathId(id, 'loan'));
    if (!loan) throw notFound('loan');
    if (loan.status !== 'active')
      throw refuse('LOAN_NOT_ACTIVE', `the loan is ${loan.status}`, { status: loan.status });
    return loan;
  }
  async function aheadOrRefuse(date: string, maxDays: number): Promise<void> {
    const today = await platform.services.clock.today();
    if (!isDate(date) || forwardDateRefusal(date, today, maxDays)) {
      throw refuse('DATE_NOT_AHEAD', `the date must be from today ${today} to ${maxDays} days ahead`);
    }
  }
  /** What a collector may see of a customer: the masked name and phone (privacy/masking.ts). */
  async function maskedCustomer(customerId: bigint): Promise<{ name: string; phone: string } | null> {
    const c = await getCustomer(sql, platform.services.crypto, customerId);
    return c
      ? { name: mask('legal_name', c.legalName, 'staff'), phone: mask('phone', c.phone, 'staff') }
      : null;
  }
  return async (app) => {
    collectionCaseRoutes(app, platform, { activeLoan, maskedCustomer });
    app.get(
      '/v1/collections/queue',
      {
        preHandler: requireRole('collector', 'ops'),
        schema: {
          tags,
          security,
          summary: 'Delinquent loans, most days past due first (a collector sees the loans assigned to them)',
          querystring: Type.Object(
            {
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
              // the console's list: each customer's masked name (one decryption per customer)
              names: Type.Optional(Type.Boolean()),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const p = request.principal!;
        const rows = await collectionsQueue(sql, p.role === 'collector' ? p.id : null, request.query.limit);
        const names = new Map<string, string | null>();
        if (request.query.names === true) {
          for (const id of new Set(rows.map((r) => r.customer_id.toString()))) {
            names.set(id, (await maskedCustomer(BigInt(id)))?.name ?? null);
          }
        }
        return {
          items: rows.map((r) => ({
            customer_name: names.get(r.customer_id.toString()) ?? null,
            assignee: r.assignee_username,
            loan_id: r.loan_id.toString(),
            customer_id: r.customer_id.toString(),
            days_past_due: r.days_past_due,
            bucket: r.bucket,
            overdue: money(r.overdue_minor),
            assigned_to: r.assigned_to?.toString() ?? null,
            promise_date: r.promise_date,
            promise_amount: r.promise_amount_minor === null ? null : money(r.promise_amount_minor),
            next_follow_up: r.next_follow_up,
            paused_until: r.paused_until,
          })),
        };
      },
    );

    app.put(
      '/v1/collections/loans/:id/assignee',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags,
          security,
          params: IdParams,
          body: Type.Object({ collector_id: IdString }, { additionalProperties: false }),
          response: {
            200: Type.Object({ loan_id: Type.String(), assigned_to: Type.String() }),
            404: ErrorBody,
            409: ErrorBody,
          },
        },
      },
      async (request) => {
        const loan = await activeLoan(request.params.id);
        const collectorId = pathId(request.body.collector_id, 'collector');
        const [staff] = await sql`select 1 from staff where id = ${collectorId} and role = 'collector'`;
        if (!staff) throw notFound('collector');
        await sql.begin(async (tx) => {
          const before = await caseAssignee(tx, loan);
          await assignCase(tx, loan, collectorId);
          await recordStaffAction(tx, {
            actor: request.principal!,
            action: 'collection_case_assigned',
            recordType: 'loan',
            recordId: loan.id.toString(),
            before: { assignedTo: before },
            after: { assignedTo: collectorId },
          });
        });
        return { loan_id: loan.id.toString(), assigned_to: collectorId.toString() };
      },
    );

    app.post(
      '/v1/collections/loans/:id/contacts',
      {
        preHandler: requireRole('collector', 'ops'),
        schema: {
          tags,
          security,
          params: IdParams,
          body: Type.Object(
            {
              channel: literals(CONTACT_CHANNELS),
              outcome: literals(CONTACT_OUTCOMES),
              promise_date: Type.Optional(DateString),
              promise_amount: Type.Optional(Money),
            },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({
              id: Type.String(),
              loan_id: Type.String(),
              outcome: Type.String(),
              business_date: Type.String(),
            }),
            400: ErrorBody,
            403: ErrorBody,
            404: ErrorBody,
            409: ErrorBody,
            422: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        const loan = await activeLoan(request.params.id);
        const p = request.principal!;
        if (p.role === 'collector' && (await caseAssignee(sql, loan)) !== p.id)
          throw forbidden('the loan is not assigned to you');
        const b = request.body;
        const promised = b.outcome === 'promise_to_pay';
        if (promised !== (b.promise_date !== undefined && b.promise_amount !== undefined)) {
          throw refuse(
            'PROMISE_INCOMPLETE',
            'a promise to pay has a date and an amount, and only a promise has them',
          );
        }
        if (b.promise_date !== undefined) await aheadOrRefuse(b.promise_date, MAX_PROMISE_DAYS);
        const businessDate = await platform.services.clock.today();
        const contact = {
          collectorId: p.id,
          channel: b.channel,
          outcome: b.outcome,
          promiseDate: b.promise_date ?? null,
          promiseAmountMinor: b.promise_amount === undefined ? null : positiveAmount(b.promise_amount),
          businessDate,
        };
        const id = await sql.begin(async (tx) => {
          const made = await logContact(tx, loan, contact);
          await recordStaffAction(tx, {
            actor: p,
            action: promised ? 'promise_to_pay_recorded' : 'collection_contact_logged',
            recordType: 'collection_contact',
            recordId: made.toString(),
            before: null,
            after: { loanId: loan.id, ...contact },
          });
          return made;
        });
        return reply.code(201).send({
          id: id.toString(),
          loan_id: loan.id.toString(),
          outcome: b.outcome,
          business_date: businessDate,
        });
      },
    );

    app.post(
      '/v1/loans/:id/hardship/pause',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags,
          security,
          summary:
            'Pause late fees and days-past-due growth through a date, with the customer consent reference',
          params: IdParams,
          body: Type.Object(
            { until: DateString, consent_ref: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' }) },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ loan_id: Type.String(), paused_until: Type.String() }),
            400: ErrorBody,
            404: ErrorBody,
            409: ErrorBody,
            422: ErrorBody,
          },
        },
      },
      async (request) => {
        const loan = await activeLoan(request.params.id);
        await aheadOrRefuse(request.body.until, MAX_PAUSE_DAYS);
        await sql.begin(async (tx) => {
          await pauseDelinquency(tx, loan, request.body.until, request.body.consent_ref);
          await recordStaffAction(tx, {
            actor: request.principal!,
            action: 'hardship_pause_set',
            recordType: 'loan',
            recordId: loan.id.toString(),
            before: { status: loan.status, daysPastDue: loan.daysPastDue },
            after: { pausedUntil: request.body.until, consentRef: request.body.consent_ref },
          });
        });
        return { loan_id: loan.id.toString(), paused_until: request.body.until };
      },
    );
  };
}

interface CaseDeps {
  activeLoan: (id: string) => Promise<Loan>;
  maskedCustomer: (customerId: bigint) => Promise<{ name: string; phone: string } | null>;
}

/** What the console's case page reads: the collectors to assign to, and one case with its contact log. */
function collectionCaseRoutes(
  app: Parameters<FastifyPluginAsyncTypebox>[0],
  platform: Platform,
  deps: CaseDeps,
) {
  const sql = platform.db.sql;
  const security = [{ bearer: [] }];
  const tags = ['collections'];
  app.get(
    '/v1/collections/collectors',
    { preHandler: requireRole('ops'), schema: { tags, security, summary: 'Collectors to assign cases to' } },
    async () => ({
      items: (await collectors(sql)).map((c) => ({ id: c.id.toString(), username: c.username })),
    }),
  );
  app.get(
    '/v1/collections/loans/:id',
    {
      preHandler: requireRole('collector', 'ops'),
      schema: {
        tags,
        security,
        summary: 'One case: the customer (masked), standing, assignee, promise, pause and contact log',
        params: IdParams,
      },
    },
    async (request) => {
      const loan = await deps.activeLoan(request.params.id);
      const p = request.principal!;
      if (p.role === 'collector' && (await caseAssignee(sql, loan)) !== p.id)
        throw forbidden('the loan is not assigned to you');
      const [customer, c, contacts] = await Promise.all([
        deps.maskedCustomer(loan.customerId),
        caseOf(sql, loan),
        caseContacts(sql, loan),
      ]);
      return {
        loan_id: loan.id.toString(),
        customer_name: customer?.name ?? null,
        customer_phone: customer?.phone ?? null,
        days_past_due: loan.daysPastDue,
        bucket: loan.bucket,
        assignee: c?.assignee_username ?? null,
        promise_date: c?.promise_date ?? null,
        promise_amount: c?.promise_amount_minor == null ? null : money(c.promise_amount_minor),
        next_follow_up: c?.next_follow_up ?? null,
        paused_until: c?.paused_until ?? null,
        contacts: contacts.map((k) => ({
          id: k.id.toString(),
          channel: k.channel,
          outcome: k.outcome,
          promise_date: k.promise_date,
          promise_amount: k.promise_amount_minor === null ? null : money(k.promise_amount_minor),
          business_date: k.business_date,
          by: k.collector_username,
        })),
      };
    },
  );
}
