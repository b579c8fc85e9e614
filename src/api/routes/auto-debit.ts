/**
 * The borrower's own debit and message settings (issue 16 items 2-3): the cards on file (POST
 * /v1/me/cards adds one: the gateway tokenises it, only the encrypted token and BIN/last four are
 * kept), automatic debit on or off and which card it charges (GET/PUT /v1/me/auto-debit), and the
 * message language and marketing unsubscribe (GET/PUT /v1/me/notification-preferences). Customers
 * only, and only their own: another customer's card is CARD_NOT_FOUND (404).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Platform } from '../../platform.ts';
import { addCard, type CardView, getAutoDebit, listCards, setAutoDebit } from '../../store/auto-debit.ts';
import { getPreferences, setPreferences } from '../../store/notifications.ts';
import { requireRole } from '../auth.ts';
import { refuse } from '../errors.ts';
import { IdString, idFromPath } from './ids.ts';
import { ErrorBody } from './lending-schemas.ts';

/** A card number as the borrower types it (PAN lengths per ISO/IEC 7812). */
export const CARD_NUMBER_PATTERN = '^\\d{12,19}$';

const CardBody = Type.Object({ id: Type.String(), bin: Type.String(), last4: Type.String() });
const AutoDebitBody = Type.Object({
  enabled: Type.Boolean(),
  card_id: Type.Union([Type.String(), Type.Null()]),
  cards: Type.Array(CardBody),
});
const PreferencesBody = Type.Object({
  language: Type.Union([Type.Literal('zh-CN'), Type.Literal('en')]),
  marketing_opt_out: Type.Boolean(),
});

const cardView = (c: CardView) => ({ id: c.id.toString(), bin: c.bin, last4: c.last4 });

export function autoDebitRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  const auth = { preHandler: requireRole('customer') };
  const doc = { tags: ['auto-debit'], security: [{ bearer: [] }] };
  const view = async (customerId: bigint) => {
    const setting = await getAutoDebit(sql, customerId);
    return {
      enabled: setting.enabled,
      card_id: setting.cardId === null ? null : setting.cardId.toString(),
      cards: (await listCards(sql, customerId)).map(cardView),
    };
  };
  return async (app) => {
    app.get(
      '/v1/me/auto-debit',
      {
        ...auth,
        schema: {
          ...doc,
          summary: 'Automatic debit: on or off, its card, the cards on file',
          response: { 200: AutoDebitBody },
        },
      },
      async (request) => view(request.principal!.id),
    );

    app.post(
      '/v1/me/cards',
      {
        ...auth,
        schema: {
          ...doc,
          summary:
            'Adds a card on file (the first one becomes the debit card); the same card twice is one card',
          body: Type.Object(
            { card_number: Type.String({ pattern: CARD_NUMBER_PATTERN }) },
            { additionalProperties: false },
          ),
          response: { 201: CardBody, 400: ErrorBody },
        },
      },
      async (request, reply) => {
        const number = request.body.card_number;
        const token = await platform.services.collection.tokenize(number);
        const card = await sql.begin((tx) =>
          addCard(tx, platform.services.crypto, request.principal!.id, number, token),
        );
        return reply.code(201).send(cardView(card));
      },
    );

    app.put(
      '/v1/me/auto-debit',
      {
        ...auth,
        schema: {
          ...doc,
          summary: 'Turns automatic debit on or off and chooses its card (one of your own)',
          body: Type.Object(
            { enabled: Type.Optional(Type.Boolean()), card_id: Type.Optional(IdString) },
            { additionalProperties: false },
          ),
          response: { 200: AutoDebitBody, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request) => {
        const customerId = request.principal!.id;
        const { enabled, card_id } = request.body;
        const cardId = card_id === undefined ? undefined : idFromPath(card_id);
        if (card_id !== undefined && cardId === undefined)
          throw refuse('CARD_NOT_FOUND', 'no such card on file');
        await sql.begin((tx) => setAutoDebit(tx, customerId, { enabled, cardId }));
        return view(customerId);
      },
    );

    app.get(
      '/v1/me/notification-preferences',
      {
        ...auth,
        schema: {
          ...doc,
          summary: 'Message language and marketing unsubscribe',
          response: { 200: PreferencesBody },
        },
      },
      async (request) => {
        const p = await getPreferences(sql, request.principal!.id);
        return { language: p.language, marketing_opt_out: p.marketingOptOut };
      },
    );

    app.put(
      '/v1/me/notification-preferences',
      {
        ...auth,
        schema: {
          ...doc,
          summary: 'Chooses the message language (zh-CN or en) and unsubscribes from (or back to) marketing',
          body: Type.Object(
            {
              language: Type.Optional(Type.Union([Type.Literal('zh-CN'), Type.Literal('en')])),
              marketing_opt_out: Type.Optional(Type.Boolean()),
            },
            { additionalProperties: false },
          ),
          response: { 200: PreferencesBody, 400: ErrorBody },
        },
      },
      async (request) => {
        const { language, marketing_opt_out } = request.body;
        const p = await setPreferences(sql, request.principal!.id, {
          language,
          marketingOptOut: marketing_opt_out,
        });
        return { language: p.language, marketing_opt_out: p.marketingOptOut };
      },
    );
  };
}
