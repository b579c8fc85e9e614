/**
 * The loan agreement (issue 17): which version the platform requires, and a borrower's acceptance
 * of it, recorded with a SHA-256 of the text the app showed and the terms it covers (product and
 * tenor, and the goods or the cash amount). An order or a cash draw names the acceptance
 * (agreement_acceptance_id) and uses it once; docs/api.md, "Loan agreement", says where it is
 * required.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  AGREEMENT_TEXT_SHA256_PATTERN,
  AGREEMENT_VERSION_MAX_LENGTH,
  CURRENT_AGREEMENT_VERSION,
} from '../../domain/agreement.ts';
import { MAX_TENOR } from '../../domain/index.ts';
import type { Platform } from '../../platform.ts';
import { type Acceptance, recordAcceptance } from '../../store/agreements.ts';
import { requireRole } from '../auth.ts';
import { refuse } from '../errors.ts';
import { IdString } from './ids.ts';
import { ErrorBody, Money, money, pathId, positiveAmount } from './lending-schemas.ts';

const AcceptanceBody = Type.Object(
  {
    version: Type.String({ minLength: 1, maxLength: AGREEMENT_VERSION_MAX_LENGTH }),
    text_sha256: Type.String({
      pattern: AGREEMENT_TEXT_SHA256_PATTERN,
      description: 'SHA-256 (hex) of the text shown',
    }),
    product_id: IdString,
    tenor: Type.Integer({ minimum: 1, maximum: MAX_TENOR }),
    goods_id: Type.Optional(IdString),
    amount: Type.Optional(Money),
  },
  { additionalProperties: false },
);

export const AcceptanceView = Type.Object({
  id: Type.String(),
  version: Type.String(),
  text_sha256: Type.String(),
  product_id: Type.String(),
  tenor: Type.Integer(),
  goods_id: Type.Union([Type.String(), Type.Null()]),
  amount: Type.Union([Type.String(), Type.Null()]),
  accepted_at: Type.String(),
  order_id: Type.Union([Type.String(), Type.Null()]),
  loan_id: Type.Union([Type.String(), Type.Null()]),
  product_name: Type.Optional(Type.String({ description: 'in lists: the product accepted' })),
  goods_name: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'in lists: the goods' })),
});

export const acceptanceView = (a: Acceptance) => ({
  id: a.id.toString(),
  version: a.version,
  text_sha256: a.textSha256,
  product_id: a.productId.toString(),
  tenor: a.tenor,
  goods_id: a.goodsId?.toString() ?? null,
  amount: a.amountMinor === null ? null : money(a.amountMinor),
  accepted_at: a.acceptedAt.toISOString(),
  order_id: a.orderId?.toString() ?? null,
  loan_id: a.loanId?.toString() ?? null,
  ...(a.productName === undefined ? {} : { product_name: a.productName, goods_name: a.goodsName ?? null }),
});

export function agreementRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  return async (app) => {
    app.get(
      '/v1/agreement',
      {
        schema: {
          tags: ['orders'],
          summary:
            'The loan agreement version the platform requires, and whether orders must name an acceptance',
          response: {
            200: Type.Object({ version: Type.String(), required: Type.Boolean() }),
          },
        },
      },
      async () => ({ version: CURRENT_AGREEMENT_VERSION, required: platform.config.agreementRequired }),
    );

    app.post(
      '/v1/me/agreement-acceptances',
      {
        preHandler: requireRole('customer'),
        schema: {
          tags: ['orders'],
          summary: 'Accept the loan agreement for one order (goods_id) or cash draw (amount)',
          security: [{ bearer: [] }],
          body: AcceptanceBody,
          response: { 201: AcceptanceView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
        },
      },
      async (request, reply) => {
        const b = request.body;
        if ((b.goods_id === undefined) === (b.amount === undefined))
          throw refuse(
            b.goods_id === undefined ? 'QUOTE_FORM_INCOMPLETE' : 'QUOTE_FORM_CONFLICT',
            'an acceptance covers goods (goods_id) or a cash amount (amount): exactly one',
          );
        const accepted = await recordAcceptance(sql, {
          customerId: request.principal!.id,
          version: b.version,
          textSha256: b.text_sha256,
          productId: pathId(b.product_id, 'product'),
          tenor: b.tenor,
          goodsId: b.goods_id === undefined ? null : pathId(b.goods_id, 'goods'),
          amountMinor: b.amount === undefined ? null : positiveAmount(b.amount),
        });
        return reply.status(201).send(acceptanceView(accepted));
      },
    );
  };
}
