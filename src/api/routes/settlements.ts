/**
 * Merchant settlement over HTTP: ops set a merchant's discount rate (audited), a merchant reads its
 * own settlements and their lines with its API key (GET /v1/merchant/settlements, /{id}), newest
 * first, in bounded pages.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAX_MERCHANT_DISCOUNT_BP } from '../../domain/settlement.ts';
import type { Platform } from '../../platform.ts';
import {
  getSettlement,
  listSettlements,
  merchantDiscountBp,
  type SettlementLineRow,
  type SettlementRow,
  setMerchantDiscountBp,
  settlementLines,
} from '../../store/settlement.ts';
import { requireRole } from '../auth.ts';
import { notFound } from '../errors.ts';
import { idFromPath } from './ids.ts';
import { ErrorBody, IdParams, money, pathId } from './lending-schemas.ts';
import { changeMerchantSetting, type MerchantSetting } from './merchant-settings.ts';
import { nextCursor, Page } from './page.ts';

const DISCOUNT: MerchantSetting<number> = {
  action: 'merchant_discount_changed',
  field: 'discountBp',
  read: merchantDiscountBp,
  write: setMerchantDiscountBp,
};

export const SETTLEMENT_PAGE_DEFAULT = 20;
export const SETTLEMENT_PAGE_MAX = 100;
export const SETTLEMENT_LINES_PAGE_DEFAULT = 100;
export const SETTLEMENT_LINES_PAGE_MAX = 1_000;

const Cursor = Type.String({ pattern: '^\\d{1,19}$' });
const SettlementView = Type.Object({
  id: Type.String(),
  merchant_id: Type.String(),
  sales_date: Type.String(),
  value_date: Type.String(),
  order_lines: Type.Integer(),
  return_lines: Type.Integer(),
  gross: Type.String(),
  discount: Type.String(),
  net: Type.String(),
  status: Type.String(),
  attempts: Type.Integer(),
  failure_reason: Type.Union([Type.String(), Type.Null()]),
  payout_reference: Type.Union([Type.String(), Type.Null()]),
  carried_into: Type.Union([Type.String(), Type.Null()]),
  paid_on: Type.Union([Type.String(), Type.Null()]),
});
const LineView = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  source_id: Type.String(),
  order_id: Type.Union([Type.String(), Type.Null()]),
  discount_bp: Type.Integer(),
  gross: Type.String(),
  discount: Type.String(),
  net: Type.String(),
});

const settlementView = (s: SettlementRow) => ({
  id: s.id.toString(),
  merchant_id: s.merchant_id.toString(),
  sales_date: s.sales_date,
  value_date: s.value_date,
  order_lines: Number(s.order_lines),
  return_lines: Number(s.return_lines),
  gross: money(s.gross_minor),
  discount: money(s.discount_minor),
  net: money(s.net_minor),
  status: s.status,
  attempts: Number(s.attempts),
  failure_reason: s.failure_reason,
  payout_reference: s.payout_reference,
  carried_into: s.carried_into === null ? null : s.carried_into.toString(),
  paid_on: s.paid_on,
});

const lineView = (l: SettlementLineRow) => ({
  id: l.id.toString(),
  kind: l.kind,
  source_id: l.source_id.toString(),
  order_id: l.order_id === null ? null : l.order_id.toString(),
  discount_bp: Number(l.discount_bp),
  gross: money(l.gross_minor),
  discount: money(l.discount_minor),
  net: money(l.net_minor),
});

const cursorOf = (text: string | undefined) => (text === undefined ? null : (idFromPath(text) ?? null));

export function settlementRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  return async (app) => {
    app.put(
      '/v1/merchants/:id/settlement-terms',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags: ['settlement'],
          summary: "A merchant's discount rate in basis points of the price (ops; audited)",
          security: [{ bearer: [] }],
          params: IdParams,
          body: Type.Object(
            { discount_bp: Type.Integer({ minimum: 0, maximum: MAX_MERCHANT_DISCOUNT_BP }) },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ merchant_id: Type.String(), discount_bp: Type.Integer() }),
            404: ErrorBody,
          },
        },
      },
      async (request) => {
        const merchantId = pathId(request.params.id, 'merchant');
        const bp = await changeMerchantSetting(sql, request, merchantId, DISCOUNT, request.body.discount_bp);
        return { merchant_id: merchantId.toString(), discount_bp: bp };
      },
    );

    app.get(
      '/v1/merchant/settlements',
      {
        preHandler: requireRole('merchant'),
        schema: {
          tags: ['settlement'],
          summary: "The calling merchant's settlements, newest first",
          security: [{ merchantKey: [] }],
          querystring: Type.Object(
            {
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: SETTLEMENT_PAGE_MAX })),
              cursor: Type.Optional(Cursor),
            },
            { additionalProperties: false },
          ),
          response: { 200: Page(SettlementView) },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? SETTLEMENT_PAGE_DEFAULT;
        const rows = await listSettlements(sql, request.principal!.id, cursorOf(request.query.cursor), limit);
        return { items: rows.map(settlementView), next_cursor: nextCursor(rows, limit, (s) => s.id) };
      },
    );

    app.get(
      '/v1/merchant/settlements/:id',
      {
        preHandler: requireRole('merchant'),
        schema: {
          tags: ['settlement'],
          summary: 'One settlement of the calling merchant with a page of its lines',
          security: [{ merchantKey: [] }],
          params: IdParams,
          querystring: Type.Object(
            {
              lines_limit: Type.Optional(Type.Integer({ minimum: 1, maximum: SETTLEMENT_LINES_PAGE_MAX })),
              lines_cursor: Type.Optional(Cursor),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ settlement: SettlementView, lines: Page(LineView) }),
            404: ErrorBody,
          },
        },
      },
      async (request) => {
        const id = pathId(request.params.id, 'settlement');
        const s = await getSettlement(sql, id);
        // another merchant's settlement does not exist for this one
        if (!s || s.merchant_id !== request.principal!.id) throw notFound('settlement');
        const limit = request.query.lines_limit ?? SETTLEMENT_LINES_PAGE_DEFAULT;
        const lines = await settlementLines(sql, [s.id], cursorOf(request.query.lines_cursor) ?? 0n, limit);
        return {
          settlement: settlementView(s),
          lines: { items: lines.map(lineView), next_cursor: nextCursor(lines, limit, (l) => l.id) },
        };
      },
    );
  };
}
