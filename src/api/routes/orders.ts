/**
 * Goods on installment: a customer orders goods with a goods product and a tenor, zero down. The
 * order settles in one transaction (credit, order, loan, schedule, ledger, merchant settlement).
 */

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { MAX_TENOR } from '../../domain/index.ts';
import { HELD_REASON, orderStatusView } from '../../orders/status.ts';
import type { Platform } from '../../platform.ts';
import { AWARE } from '../../rehearsal/gate.ts';
import { markUsed, takeAcceptance } from '../../store/agreements.ts';
import { settleOrder } from '../../store/orders.ts';
import { requireRole } from '../auth.ts';
import { refuse } from '../errors.ts';
import { IdempotencyHeaders, idempotent } from '../plugins/idempotency.ts';
import { IdString } from './ids.ts';
import { ErrorBody, IdParams, pathId } from './lending-schemas.ts';
import { QueuedAnswer, registerQueuedOrders } from './orders-queued.ts';

const OrderBody = Type.Object(
  {
    goods_id: IdString,
    product_id: IdString,
    tenor: Type.Integer({ minimum: 1, maximum: MAX_TENOR }),
    // the loan agreement acceptance covering these terms (POST /v1/me/agreement-acceptances);
    // required on the synchronous path when FENQI_AGREEMENT_REQUIRED is on (docs/api.md)
    agreement_acceptance_id: Type.Optional(IdString),
  },
  { additionalProperties: false },
);
const OrderView = Type.Object({
  id: Type.String(),
  customer_id: Type.String(),
  merchant_id: Type.String(),
  goods_id: Type.String(),
  product_id: Type.String(),
  tenor: Type.Integer(),
  price: Type.String(),
  status: Type.Union(
    [Type.Literal('accepted'), Type.Literal('held'), Type.Literal('settled'), Type.Literal('rejected')],
    {
      description:
        'accepted: queued, not settled yet; held: accepted but set aside for review (hold_reason), ' +
        'settled or rejected once an operator has replayed it; settled / rejected: final',
    },
  ),
  reject_reason: Type.Union([Type.String(), Type.Null()], { description: 'the refusal code when rejected' }),
  hold_reason: Type.Union([Type.Literal(HELD_REASON), Type.Null()], {
    description: `${HELD_REASON} when held, else null`,
  }),
  loan_id: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  settled_at: Type.Union([Type.String(), Type.Null()]),
});

/** `?mode=queued` or `?mode=sync` chooses the path per request; without it, FENQI_SALE_MODE decides. */
const OrderQuery = Type.Object(
  { mode: Type.Optional(Type.Union([Type.Literal('queued'), Type.Literal('sync')])) },
  { additionalProperties: false },
);

/** The synchronous path: the order settles in the request's transaction (201), or is refused. */
function settleNow(
  platform: Platform,
  today: string,
  request: FastifyRequest,
  reply: FastifyReply,
  body: Static<typeof OrderBody>,
): Promise<FastifyReply> {
  const customerId = request.principal!.id;
  const goodsId = pathId(body.goods_id, 'goods');
  const productId = pathId(body.product_id, 'product');
  const acceptanceId =
    body.agreement_acceptance_id === undefined
      ? undefined
      : pathId(body.agreement_acceptance_id, 'agreement acceptance');
  // an order naming an acceptance is always held to it; without one it is refused only where required
  const checkAgreement = acceptanceId !== undefined || platform.config.agreementRequired;
  return idempotent(platform.db.sql, request, reply, {
    effect: async (tx, key) => {
      const acceptance = checkAgreement
        ? await takeAcceptance(tx, customerId, acceptanceId, {
            productId,
            tenor: body.tenor,
            goodsId,
            amountMinor: null,
          })
        : undefined;
      const outcome = await settleOrder(tx, {
        customerId,
        goodsId,
        productId,
        tenor: body.tenor,
        idempotencyKey: key,
        businessDate: today,
      });
      if (outcome.status === 'rejected') {
        // Thrown so the savepoint rolls the rejected order back: a synchronous refusal changes nothing.
        throw refuse(outcome.code, outcome.message, outcome.details);
      }
      if (acceptance) await markUsed(tx, acceptance, { orderId: outcome.order.id });
      return { statusCode: 201, body: orderStatusView(outcome.order) };
    },
  });
}

export function orderRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Sale day (docs/flash.md): the queued path, the status read and its events stream.
    const queued = await registerQueuedOrders(app, platform);
    app.post(
      '/v1/orders',
      {
        // rehearsal traffic (docs/rehearsal.md) reaches this route's shadow twin only
        config: { rehearsal: AWARE },
        preHandler: requireRole('customer'),
        schema: {
          tags: ['orders'],
          summary: 'Buy goods on installment, zero down (Idempotency-Key required)',
          security: [{ bearer: [] }],
          headers: IdempotencyHeaders,
          querystring: OrderQuery,
          body: OrderBody,
          response: {
            201: OrderView,
            202: QueuedAnswer,
            400: ErrorBody,
            404: ErrorBody,
            409: ErrorBody,
            422: ErrorBody,
            429: ErrorBody,
            503: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        if (queued.applies(request)) return queued.accept(request, reply, request.body);
        return settleNow(platform, await platform.services.clock.today(), request, reply, request.body);
      },
    );

    app.get(
      '/v1/orders/:id',
      {
        config: { rehearsal: AWARE },
        preHandler: requireRole('customer', 'merchant', 'risk', 'ops'),
        schema: {
          tags: ['orders'],
          summary: 'An order (accepted, held, settled or rejected): its customer, its merchant or staff',
          security: [{ bearer: [] }, { merchantKey: [] }],
          params: IdParams,
          response: { 200: OrderView, 404: ErrorBody, 503: ErrorBody },
        },
      },
      // Cache, database, dead letters: a queued order not settled yet reads `accepted`, one the
      // settler set aside `held` (never 404 while it waits for a replay).
      async (request) => queued.status(request, pathId(request.params.id, 'order')),
    );
  };
}
