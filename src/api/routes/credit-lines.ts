/**
 * Credit lines: staff (risk, ops) set the limit and freeze or unfreeze, under maker-checker above
 * a configured amount (src/credit/changes.ts); the customer and staff read it. `me` stands for the
 * calling customer's own id.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { changeCreditLine } from '../../credit/changes.ts';
import { CREDIT_LINE_MAX_MINOR } from '../../domain/index.ts';
import type { Platform } from '../../platform.ts';
import { type CreditLine, getCreditLine } from '../../store/credit-lines.ts';
import type { TransactionSql } from '../../store/db.ts';
import { requireRole } from '../auth.ts';
import { notFound, toApiError } from '../errors.ts';
import { parseMoney } from '../money-input.ts';
import { type Answer, IdempotencyHeaders, idempotent } from '../plugins/idempotency.ts';
import { IdString } from './ids.ts';
import { assertOwnerOrStaff, ErrorBody, Money, money, pathId } from './lending-schemas.ts';
import { ProposalView, proposalView } from './proposal-views.ts';

const CustomerParams = Type.Object({
  id: Type.String({ pattern: '^(\\d{1,19}|me)$', description: 'a customer id, or me' }),
});
const LineView = Type.Object({
  customer_id: Type.String(),
  limit: Type.String(),
  used: Type.String(),
  available: Type.String(),
  currency: Type.String(),
  status: Type.String(),
  updated_at: Type.String(),
});
const LineChange = Type.Object(
  {
    limit: Type.Optional(Money),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('frozen')])),
  },
  { additionalProperties: false, minProperties: 1 },
);

const view = (l: CreditLine) => ({
  customer_id: l.customerId.toString(),
  limit: money(l.limitMinor),
  used: money(l.usedMinor),
  available: money(l.availableMinor),
  currency: l.currency,
  status: l.status,
  updated_at: l.updatedAt.toISOString(),
});

export function creditLineRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  return async (app) => {
    app.get(
      '/v1/customers/:id/credit-line',
      {
        preHandler: requireRole('customer', 'risk', 'ops'),
        schema: {
          tags: ['credit'],
          summary: 'A customer credit line: limit, used, available, status',
          security: [{ bearer: [] }],
          params: CustomerParams,
          response: { 200: LineView, 404: ErrorBody },
        },
      },
      async (request) => {
        const principal = request.principal!;
        const customerId =
          request.params.id === 'me'
            ? principal.role === 'customer'
              ? principal.id
              : undefined
            : pathId(request.params.id, 'credit line');
        if (customerId === undefined) throw notFound('credit line');
        assertOwnerOrStaff(request, customerId, 'credit line');
        const line = await getCreditLine(sql, customerId);
        if (!line) throw notFound('credit line');
        return view(line);
      },
    );

    app.put(
      '/v1/customers/:id/credit-line',
      {
        preHandler: requireRole('risk', 'ops'),
        schema: {
          tags: ['credit'],
          summary: 'Set a credit line limit and/or freeze or unfreeze it (risk, ops)',
          description:
            'Creates the line on first use. A limit below what is already used is refused ' +
            '(409 LIMIT_BELOW_USED): freeze the line to stop new borrowing instead. A limit above ' +
            'FENQI_SECOND_APPROVER_ABOVE_YUAN or the policy maximum is not applied: it becomes a ' +
            'proposal (202) that a second staff member approves. With an Idempotency-Key a retry ' +
            'replays the first answer and never undoes a later change.',
          security: [{ bearer: [] }],
          headers: IdempotencyHeaders,
          params: Type.Object({ id: IdString }),
          body: LineChange,
          response: { 200: LineView, 202: ProposalView, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
        },
      },
      async (request, reply) => {
        const customerId = pathId(request.params.id, 'customer');
        const limitMinor =
          request.body.limit === undefined
            ? undefined
            : parseMoney(request.body.limit, {
                maxMinor: CREDIT_LINE_MAX_MINOR,
                code: 'LIMIT_OUT_OF_RANGE',
                what: 'a credit limit',
                allowZero: true,
              });
        const effect = async (tx: TransactionSql): Promise<Answer> => {
          const outcome = await changeCreditLine(
            tx,
            request.principal!,
            customerId,
            { limitMinor, status: request.body.status },
            platform.config.secondApproverAboveMinor,
          );
          return 'applied' in outcome
            ? { statusCode: 200, body: view(outcome.applied) }
            : { statusCode: 202, body: proposalView(outcome.proposed) };
        };
        try {
          const key = request.headers['idempotency-key'];
          if (key !== undefined) return await idempotent(sql, request, reply, { effect });
          const answer = await sql.begin(effect);
          return reply.status(answer.statusCode as 200).send(answer.body as never);
        } catch (err) {
          throw toApiError(err) ?? err;
        }
      },
    );
  };
}
