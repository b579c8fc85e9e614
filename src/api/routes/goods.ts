/** The public catalogue: active goods, paged by id (keyset), optionally of one merchant. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Platform } from '../../platform.ts';
import { GOODS_PAGE_DEFAULT, GOODS_PAGE_MAX, getGoods, listGoods } from '../../store/goods.ts';
import { notFound } from '../errors.ts';
import { IdString, idFromPath } from './ids.ts';
import { GoodsBody, goodsView } from './merchants.ts';
import { nextCursor, Page } from './page.ts';

export function goodsRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const { db } = platform;
  return async (app) => {
    app.get(
      '/v1/goods',
      {
        schema: {
          tags: ['goods'],
          summary: 'The catalogue, a page at a time: pass next_cursor back as cursor',
          querystring: Type.Object(
            {
              merchant_id: Type.Optional(IdString),
              limit: Type.Optional(
                Type.Integer({ minimum: 1, maximum: GOODS_PAGE_MAX, default: GOODS_PAGE_DEFAULT }),
              ),
              cursor: Type.Optional(IdString),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Page(GoodsBody),
          },
        },
      },
      async (request) => {
        const { merchant_id, cursor } = request.query;
        const limit = request.query.limit ?? GOODS_PAGE_DEFAULT;
        const merchantId = merchant_id === undefined ? undefined : idFromPath(merchant_id);
        const afterId = cursor === undefined ? undefined : idFromPath(cursor);
        // An id beyond bigint names nothing: an empty page, not an error.
        if (
          (merchant_id !== undefined && merchantId === undefined) ||
          (cursor !== undefined && afterId === undefined)
        ) {
          return { items: [], next_cursor: null };
        }
        const items = await listGoods(db.sql, { merchantId, afterId, limit });
        return {
          items: items.map(goodsView),
          next_cursor: nextCursor(items, limit, (g) => g.id),
        };
      },
    );

    app.get(
      '/v1/goods/:id',
      {
        schema: {
          tags: ['goods'],
          summary: 'One item of the catalogue',
          params: Type.Object({ id: IdString }),
          response: { 200: GoodsBody },
        },
      },
      async (request) => {
        const id = idFromPath(request.params.id);
        const goods = id === undefined ? undefined : await getGoods(db.sql, id);
        if (!goods) throw notFound('goods');
        return goodsView(goods);
      },
    );
  };
}
