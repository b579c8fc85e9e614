/**
 * Goods returns (issue 15): a merchant (for its own orders) or ops returns all or part of an order
 * bought on installments; the return window is per merchant (PUT /v1/merchants/{id}/return-policy).
 * One transaction, one balanced entry (store/servicing/returns.ts), Idempotency-Key required.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAX_RETURN_WINDOW_DAYS } from '../../domain/returns.ts';
import type { Platform } from '../../platform.ts';
import { getOrder } from '../../store/orders.ts';
import {
  type AppliedReturn,
  applyReturn,
  returnWindowDays,
  setReturnWindowDays,
} from '../../store/servicing/returns.ts';
import { recordStaffAction } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { notFound } from '../errors.ts';
import { IdempotencyHeaders, idempotent } from '../plugins/idempotency.ts';
import { ErrorBody, IdParams, Money, money, pathId, positiveAmount } from './lending-schemas.ts';
import { changeMerchantSetting, type MerchantSetting } from './merchant-settings.ts';

const RETURN_WINDOW: MerchantSetting<number> = {
  action: 'return_window_changed',
  field: 'returnWindowDays',
  read: returnWindowDays,
  write: setReturnWindowDays,
};

const Amounts = Type.Object({
  principal: Type.String(),
  interest: Type.String(),
  fee: Type.String(),
  penalty: Type.String(),
});

const ReturnView = Type.Object({
  id: Type.String(),
  order_id: Type.String(),
  kind: Type.String(),
  returned: Type.String(),
  cancelled: Amounts,
  refund: Type.String(),
  refunded: Amounts,
  refund_to: Type.String(),
  credit_released: Type.String(),
  merchant_payable_reversed: Type.String(),
  loan_status: Type.String(),
  business_date: Type.String(),
});

function amounts(c: { principal: bigint; interest: bigint; fee: bigint; penalty: bigint }) {
  return {
    principal: money(c.principal),
    interest: money(c.interest),
    fee: money(c.fee),
    penalty: money(c.penalty),
  };
}

function returnJson(orderId: bigint, r: AppliedReturn) {
  return {
    id: r.id.toString(),
    order_id: orderId.toString(),
    kind: r.plan.kind,
    returned: money(r.plan.returnedMinor),
    cancelled: amounts(r.plan.cancelled),
    refund: money(r.plan.refundMinor),
    refunded: amounts(r.plan.refund),
    refund_to: r.refundTo,
    credit_released: money(r.plan.cancelled.principal),
    merchant_payable_reversed: money(r.plan.returnedMinor),
    loan_status: r.loanStatus,
    business_date: r.businessDate,
  };
}

export function returnRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  return async (app) => {
    app.post(
      '/v1/orders/:id/returns',
      {
        preHandler: requireRole('merchant', 'ops'),
        schema: {
          tags: ['servicing'],
          summary: 'Return all (no amount) or part of an order bought on installments (Idempotency-Key)',
          security: [{ bearer: [] }],
          headers: IdempotencyHeaders,
          params: IdParams,
          body: Type.Object(
            {
              amount: Type.Optional(Money),
              refund_to: Type.Optional(Type.Union([Type.Literal('card'), Type.Literal('credit_balance')])),
            },
            { additionalProperties: false },
          ),
          response: { 201: ReturnView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
        },
      },
      async (request, reply) => {
        const orderId = pathId(request.params.id, 'order');
        const returnedMinor = request.body.amount === undefined ? null : positiveAmount(request.body.amount);
        const order = await getOrder(sql, orderId);
        const p = request.principal!;
        // a merchant sees only its own orders: anyone else's is "not found"
        if (!order || (p.role === 'merchant' && p.id !== order.merchantId)) throw notFound('order');
        const businessDate = await platform.services.clock.today();
        return idempotent(sql, request, reply, {
          effect: async (tx) => {
            const r = await applyReturn(tx, {
              order,
              returnedMinor,
              refundTo: request.body.refund_to ?? 'card',
              requestedBy: `${p.role}:${p.id}`,
              businessDate,
            });
            // a merchant's own returns are its business; a return made by staff is audited
            if (p.role !== 'merchant') {
              await recordStaffAction(tx, {
                actor: p,
                action: 'goods_returned',
                recordType: 'order',
                recordId: orderId.toString(),
                before: { orderId, loanId: order.loanId },
                after: returnJson(orderId, r),
              });
            }
            return { statusCode: 201, body: returnJson(orderId, r) };
          },
        });
      },
    );

    app.put(
      '/v1/merchants/:id/return-policy',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags: ['servicing'],
          summary: "A merchant's return window in days after the sale",
          security: [{ bearer: [] }],
          params: IdParams,
          body: Type.Object(
            { return_window_days: Type.Integer({ minimum: 0, maximum: MAX_RETURN_WINDOW_DAYS }) },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ merchant_id: Type.String(), return_window_days: Type.Integer() }),
            404: ErrorBody,
          },
        },
      },
      async (request) => {
        const merchantId = pathId(request.params.id, 'merchant');
        const days = await changeMerchantSetting(
          sql,
          request,
          merchantId,
          RETURN_WINDOW,
          request.body.return_window_days,
        );
        return { merchant_id: merchantId.toString(), return_window_days: days };
      },
    );
  };
}
