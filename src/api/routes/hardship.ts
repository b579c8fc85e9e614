/**
 * Hardship schedule changes by staff (issue 15 item 8), `ops` only, Idempotency-Key required, the
 * customer's consent reference recorded, one audit row each:
 *   POST /v1/loans/{id}/hardship/re-age                 past-due amounts to the end; current again
 *   POST /v1/loans/{id}/hardship/reschedule             the outstanding principal on a new schedule
 *   POST /v1/loans/{id}/hardship/proposals/{pid}/approve|reject   a second person's decision
 *   GET  /v1/loans/{id}/schedule-history                the schedules the loan had before each change
 * A reschedule that lowers the interest owed by more than the staff limit is answered `202` with a
 * proposal; nothing changes until someone else approves it.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAX_RESCHEDULE_TENOR } from '../../domain/hardship.ts';
import type { Platform } from '../../platform.ts';
import { getLoan } from '../../store/loans.ts';
import {
  decideScheduleProposal,
  reAgeLoan,
  rescheduleLoan,
  type ScheduleChangeResult,
  scheduleVersions,
} from '../../store/servicing/hardship.ts';
import { recordStaffAction } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { notFound } from '../errors.ts';
import { IdempotencyHeaders, idempotent } from '../plugins/idempotency.ts';
import { assertOwnerOrStaff, ErrorBody, IdParams, money, pathId } from './lending-schemas.ts';

const DateString = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
const ConsentRef = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' });
const tags = ['servicing'];
const security = [{ bearer: [] }];
const errors = { 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody };

const ChangeView = Type.Object({
  loan_id: Type.String(),
  kind: Type.String(),
  version: Type.Integer(),
  interest_change: Type.String(),
  moved_installments: Type.Array(Type.Integer()),
  new_installments: Type.Array(
    Type.Object({
      number: Type.Integer(),
      due_date: Type.String(),
      principal: Type.String(),
      interest: Type.String(),
      fee: Type.String(),
    }),
  ),
});

const ProposalView = Type.Object({
  proposal_id: Type.String(),
  loan_id: Type.String(),
  status: Type.String(),
  interest_change: Type.String(),
});

function changeView(r: ScheduleChangeResult) {
  return {
    loan_id: r.loan.id.toString(),
    kind: r.kind,
    version: r.version,
    interest_change: money(r.change.interestDeltaMinor),
    moved_installments: r.change.cuts.map((c) => c.number),
    new_installments: r.change.added.map((a) => ({
      number: a.number,
      due_date: a.dueDate,
      principal: money(a.principalMinor),
      interest: money(a.interestMinor),
      fee: money(a.feeMinor),
    })),
  };
}

const auditChange = (r: ScheduleChangeResult, consentRef: string, proposalId: string | null) => ({
  version: r.version,
  kind: r.kind,
  consentRef,
  proposalId,
  moved: r.change.cuts.map((c) => c.number),
  added: r.change.added.map((a) => a.number),
  interestDeltaMinor: r.change.interestDeltaMinor,
});

export function hardshipRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  const loanOf = async (id: string) => {
    const loan = await getLoan(sql, pathId(id, 'loan'));
    if (!loan) throw notFound('loan');
    return loan;
  };
  return async (app) => {
    app.post(
      '/v1/loans/:id/hardship/re-age',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags,
          security,
          summary: 'Move the past-due amounts after the last installment (customer consent recorded)',
          headers: IdempotencyHeaders,
          params: IdParams,
          body: Type.Object({ consent_ref: ConsentRef }, { additionalProperties: false }),
          response: { 201: ChangeView, ...errors },
        },
      },
      async (request, reply) => {
        const loan = await loanOf(request.params.id);
        const actor = request.principal!;
        const businessDate = await platform.services.clock.today();
        const consentRef = request.body.consent_ref;
        return idempotent(sql, request, reply, {
          effect: async (tx) => {
            const r = await reAgeLoan(tx, { loanId: loan.id, businessDate, consentRef, staffId: actor.id });
            await recordStaffAction(tx, {
              actor,
              action: 'loan_re_aged',
              recordType: 'loan',
              recordId: loan.id.toString(),
              before: { daysPastDue: loan.daysPastDue, bucket: loan.bucket },
              after: auditChange(r, consentRef, null),
            });
            return { statusCode: 201, body: changeView(r) };
          },
        });
      },
    );

    app.post(
      '/v1/loans/:id/hardship/reschedule',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags,
          security,
          summary: 'A new schedule for the outstanding principal: new term, new due day (consent recorded)',
          headers: IdempotencyHeaders,
          params: IdParams,
          body: Type.Object(
            {
              consent_ref: ConsentRef,
              tenor: Type.Integer({ minimum: 1, maximum: MAX_RESCHEDULE_TENOR }),
              start_date: Type.Optional(DateString),
            },
            { additionalProperties: false },
          ),
          response: { 201: ChangeView, 202: ProposalView, ...errors },
        },
      },
      async (request, reply) => {
        const loan = await loanOf(request.params.id);
        const actor = request.principal!;
        const businessDate = await platform.services.clock.today();
        const { consent_ref: consentRef, tenor } = request.body;
        const startDate = request.body.start_date ?? businessDate;
        return idempotent(sql, request, reply, {
          effect: async (tx) => {
            const r = await rescheduleLoan(tx, {
              loanId: loan.id,
              businessDate,
              consentRef,
              staffId: actor.id,
              tenor,
              startDate,
            });
            if ('proposal' in r) {
              const body = {
                proposal_id: r.proposal.id.toString(),
                loan_id: loan.id.toString(),
                status: 'open',
                interest_change: money(r.proposal.interestDeltaMinor),
              };
              await recordStaffAction(tx, {
                actor,
                action: 'reschedule_proposed',
                recordType: 'schedule_change_proposal',
                recordId: body.proposal_id,
                before: null,
                after: { ...body, tenor, startDate, consentRef },
              });
              return { statusCode: 202, body };
            }
            await recordStaffAction(tx, {
              actor,
              action: 'loan_rescheduled',
              recordType: 'loan',
              recordId: loan.id.toString(),
              before: { daysPastDue: loan.daysPastDue, bucket: loan.bucket },
              after: auditChange(r, consentRef, null),
            });
            return { statusCode: 201, body: changeView(r) };
          },
        });
      },
    );

    for (const decision of ['approve', 'reject'] as const) {
      app.post(
        `/v1/loans/:id/hardship/proposals/:proposalId/${decision}`,
        {
          preHandler: requireRole('ops'),
          schema: {
            tags,
            security,
            summary: `${decision === 'approve' ? 'Approve (and apply)' : 'Reject'} a reschedule proposed by someone else`,
            headers: IdempotencyHeaders,
            params: Type.Object({ id: Type.String(), proposalId: Type.String() }),
            response: {
              200: Type.Object({ proposal: ProposalView, change: Type.Union([ChangeView, Type.Null()]) }),
              ...errors,
            },
          },
        },
        async (request, reply) => {
          const loan = await loanOf(request.params.id);
          const proposalId = pathId(request.params.proposalId, 'proposal');
          const actor = request.principal!;
          const businessDate = await platform.services.clock.today();
          return idempotent(sql, request, reply, {
            effect: async (tx) => {
              const d = await decideScheduleProposal(tx, loan, proposalId, {
                approve: decision === 'approve',
                staffId: actor.id,
                businessDate,
              });
              const proposal = {
                proposal_id: d.proposal.id.toString(),
                loan_id: loan.id.toString(),
                status: d.proposal.status,
                interest_change: money(d.result?.change.interestDeltaMinor ?? 0n),
              };
              await recordStaffAction(tx, {
                actor,
                action: decision === 'approve' ? 'reschedule_approved' : 'reschedule_rejected',
                recordType: 'schedule_change_proposal',
                recordId: proposal.proposal_id,
                before: { status: 'open' },
                after: d.result
                  ? auditChange(d.result, d.proposal.consent_ref, proposal.proposal_id)
                  : proposal,
              });
              return { statusCode: 200, body: { proposal, change: d.result ? changeView(d.result) : null } };
            },
          });
        },
      );
    }

    app.get(
      '/v1/loans/:id/schedule-history',
      {
        preHandler: requireRole('customer', 'ops', 'collector', 'risk'),
        schema: {
          tags,
          security,
          summary: 'The schedules the loan had before each re-age or reschedule, oldest first',
          params: IdParams,
          response: {
            200: Type.Object({
              loan_id: Type.String(),
              versions: Type.Array(
                Type.Object({
                  version: Type.Integer(),
                  kind: Type.String(),
                  consent_ref: Type.String(),
                  business_date: Type.String(),
                  interest_change: Type.String(),
                  installments: Type.Array(
                    Type.Object({
                      number: Type.Integer(),
                      due_date: Type.String(),
                      status: Type.String(),
                      principal: Type.String(),
                      interest: Type.String(),
                      fee: Type.String(),
                      penalty: Type.String(),
                      paid: Type.String(),
                    }),
                  ),
                }),
              ),
            }),
            ...errors,
          },
        },
      },
      async (request) => {
        const loan = await loanOf(request.params.id);
        if (request.principal!.role === 'customer') assertOwnerOrStaff(request, loan.customerId, 'loan');
        const versions = await scheduleVersions(sql, loan);
        return {
          loan_id: loan.id.toString(),
          versions: versions.map((v) => ({
            version: Number(v.version),
            kind: v.kind,
            consent_ref: v.consent_ref,
            business_date: v.business_date,
            interest_change: money(v.interest_delta_minor),
            installments: v.installments.map((i) => ({
              number: i.number,
              due_date: i.due_date,
              status: i.status,
              principal: money(BigInt(i.principal_minor)),
              interest: money(BigInt(i.interest_minor)),
              fee: money(BigInt(i.fee_minor)),
              penalty: money(BigInt(i.penalty_minor)),
              paid: money(
                BigInt(i.paid_principal_minor) +
                  BigInt(i.paid_interest_minor) +
                  BigInt(i.paid_fee_minor) +
                  BigInt(i.paid_penalty_minor),
              ),
            })),
          })),
        };
      },
    );
  };
}
