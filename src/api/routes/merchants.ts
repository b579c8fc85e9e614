/**
 * Merchants: ops create them and get the API key back once; a merchant reads only itself (another
 * merchant's id is 404). Goods are added by ops or by the merchant itself.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { formatAmount } from '../../domain/index.ts';
import type { Platform } from '../../platform.ts';
import {
  createGoods,
  GOODS_NAME_MAX_LENGTH,
  GOODS_PRICE_MAX_MINOR,
  type Goods,
  SKU_MAX_LENGTH,
} from '../../store/goods.ts';
import {
  createMerchant,
  getMerchant,
  MERCHANT_NAME_MAX_LENGTH,
  type Merchant,
} from '../../store/merchants.ts';
import { recordStaffAction } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { forbidden, notFound, refuse } from '../errors.ts';
import { Money, parseMoney } from '../money-input.ts';
import { IdString, idFromPath } from './ids.ts';

/** Catalogue prices are in yuan with two decimals. */
export const PRICE_DECIMALS = 2;

const Printable = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });

const MerchantBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.String(),
  created_at: Type.String(),
});
const CreatedMerchant = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: Type.String(),
  created_at: Type.String(),
  api_key: Type.String({ description: 'shown only in this response; send it as x-api-key' }),
});
export const GoodsBody = Type.Object({
  id: Type.String(),
  merchant_id: Type.String(),
  sku: Type.String(),
  name: Type.String(),
  price: Type.String(),
  currency: Type.String(),
});
const NewGoods = Type.Object(
  { sku: Printable(SKU_MAX_LENGTH), name: Printable(GOODS_NAME_MAX_LENGTH), price: Money },
  { additionalProperties: false },
);

const merchantView = (m: Merchant) => ({
  id: m.id.toString(),
  name: m.name,
  status: m.status,
  created_at: m.createdAt.toISOString(),
});

export const goodsView = (g: Goods) => ({
  id: g.id.toString(),
  merchant_id: g.merchantId.toString(),
  sku: g.sku,
  name: g.name,
  price: formatAmount(g.priceMinor, PRICE_DECIMALS),
  currency: g.currency,
});

function priceMinorOf(text: string): bigint {
  return parseMoney(text, {
    maxMinor: GOODS_PRICE_MAX_MINOR,
    code: 'INVALID_PRICE',
    what: 'a price',
    decimals: PRICE_DECIMALS,
  });
}

export function merchantRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const { db } = platform;
  return async (app) => {
    app.post(
      '/v1/merchants',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags: ['merchants'],
          summary: 'Create a merchant; the response holds its API key, shown this once',
          security: [{ bearer: [] }],
          body: Type.Object({ name: Printable(MERCHANT_NAME_MAX_LENGTH) }, { additionalProperties: false }),
          response: { 201: CreatedMerchant },
        },
      },
      async (request, reply) => {
        const name = request.body.name.trim();
        if (!name) throw refuse('INVALID_NAME', 'a merchant name is not blank');
        const principal = request.principal!;
        const { merchant, apiKey } = await db.sql.begin(async (tx) => {
          const made = await createMerchant(tx, name);
          await recordStaffAction(tx, {
            actor: principal,
            action: 'merchant_created',
            recordType: 'merchant',
            recordId: made.merchant.id.toString(),
            before: null,
            after: made.merchant,
          });
          return made;
        });
        return reply.status(201).send({ ...merchantView(merchant), api_key: apiKey });
      },
    );

    app.get(
      '/v1/merchants/:id',
      {
        preHandler: requireRole('ops', 'risk', 'merchant'),
        schema: {
          tags: ['merchants'],
          summary: 'A merchant (staff, or the merchant itself)',
          security: [{ bearer: [] }, { merchantKey: [] }],
          params: Type.Object({ id: IdString }),
          response: { 200: MerchantBody },
        },
      },
      async (request) => {
        const id = idFromPath(request.params.id);
        const principal = request.principal!;
        if (id === undefined || (principal.role === 'merchant' && principal.id !== id))
          throw notFound('merchant');
        const merchant = await getMerchant(db.sql, id);
        if (!merchant) throw notFound('merchant');
        return merchantView(merchant);
      },
    );

    app.post(
      '/v1/merchants/:id/goods',
      {
        preHandler: requireRole('ops', 'merchant'),
        schema: {
          tags: ['goods'],
          summary: "Add goods to a merchant's catalogue (ops, or the merchant itself)",
          security: [{ bearer: [] }, { merchantKey: [] }],
          params: Type.Object({ id: IdString }),
          body: NewGoods,
          response: { 201: GoodsBody },
        },
      },
      async (request, reply) => {
        const id = idFromPath(request.params.id);
        const principal = request.principal!;
        if (principal.role === 'merchant' && principal.id !== id) {
          throw forbidden('a merchant key acts only for its own merchant');
        }
        const merchant = id === undefined ? undefined : await getMerchant(db.sql, id);
        if (!merchant) throw notFound('merchant');
        const sku = request.body.sku.trim();
        const name = request.body.name.trim();
        if (!sku || !name) throw refuse('INVALID_GOODS', 'sku and name are not blank');
        const priceMinor = priceMinorOf(request.body.price);
        const created = await db.sql.begin(async (tx) => {
          const made = await createGoods(tx, merchant.id, { sku, name, priceMinor });
          // staff adding goods for a merchant is a staff action; the merchant's own is not
          if (made.ok && principal.role !== 'merchant') {
            await recordStaffAction(tx, {
              actor: principal,
              action: 'goods_created',
              recordType: 'goods',
              recordId: made.goods.id.toString(),
              before: null,
              after: made.goods,
            });
          }
          return made;
        });
        if (!created.ok) throw refuse('SKU_TAKEN', 'this merchant already has goods with that sku');
        return reply.status(201).send(goodsView(created.goods));
      },
    );
  };
}
