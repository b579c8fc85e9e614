/**
 * /v1/ops/dead-letters (ops staff only): the orders the settler dead-lettered, with their reason,
 * and their replay once the cause is fixed (orders/dead-letters.ts; runbook in docs/operations.md).
 * A replay needs no Idempotency-Key: each dead letter is replayed at most once by construction, and
 * the order inside keeps its own id and key, so it settles at most once however often this is sent.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  DEAD_LETTER_PAGE_DEFAULT,
  DEAD_LETTER_PAGE_MAX,
  DeadLetters,
  REPLAY_SEQS_MAX,
  type ReplaySummary,
  SEQ_MAX_DIGITS,
} from '../../orders/dead-letters.ts';
import type { Platform } from '../../platform.ts';
import { DEAD_LETTER_STREAM, QueueFullError, QueueUnavailableError } from '../../queue/index.ts';
import { recordStaffActionNow } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { refuse, unavailable } from '../errors.ts';
import { ErrorBody } from './lending-schemas.ts';

/** Dead letters one `all` request replays at most; the answer says when more are left (`done: false`). */
export const REPLAY_ALL_PER_REQUEST_MAX = 500;

const Seq = Type.String({
  pattern: `^\\d{1,${SEQ_MAX_DIGITS}}$`,
  description: 'a FENQI_DEAD stream sequence as a decimal string',
});

const DeadLetterItem = Type.Object({
  seq: Type.String(),
  order_id: Type.Union([Type.String(), Type.Null()]),
  customer_id: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String(),
  deliveries: Type.Integer(),
  dead_lettered_at: Type.String(),
  replayable: Type.Boolean(),
});

const DeadLetterList = Type.Object({
  items: Type.Array(DeadLetterItem),
  total: Type.Integer({ description: 'dead letters held in FENQI_DEAD right now' }),
  next_after: Type.Union([Type.String(), Type.Null()], {
    description: 'pass back as `after` for the next page; null on the last page',
  }),
});

const ReplayBody = Type.Object(
  {
    seqs: Type.Optional(Type.Array(Seq, { minItems: 1, maxItems: REPLAY_SEQS_MAX })),
    all: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const ReplayAnswer = Type.Object({
  replayed: Type.Integer(),
  not_found: Type.Integer(),
  unreplayable: Type.Integer(),
  done: Type.Boolean({ description: 'false when `all` stopped at its per-request bound: send it again' }),
  remaining: Type.Integer({ description: 'dead letters still held in FENQI_DEAD' }),
  items: Type.Array(
    Type.Object({
      seq: Type.String(),
      order_id: Type.Union([Type.String(), Type.Null()]),
      outcome: Type.Union([
        Type.Literal('replayed'),
        Type.Literal('not_found'),
        Type.Literal('unreplayable'),
      ]),
      replay_seq: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

/** Queue trouble is a retry later, never a 500. */
function queueError(err: unknown): never {
  if (err instanceof QueueFullError) throw unavailable('OVERLOADED', 'the order stream is full', 1);
  if (err instanceof QueueUnavailableError)
    throw unavailable('QUEUE_UNAVAILABLE', 'the queue cannot be reached right now; retry shortly', 1);
  throw err;
}

export function deadLetterRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  return async (app) => {
    const deadLetters = new DeadLetters(platform.queue, platform.logger);

    app.get(
      '/v1/ops/dead-letters',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags: ['ops'],
          summary: 'Dead-lettered orders, oldest first, with their reason (ops only)',
          security: [{ bearer: [] }],
          querystring: Type.Object(
            {
              limit: Type.Optional(
                Type.Integer({
                  minimum: 1,
                  maximum: DEAD_LETTER_PAGE_MAX,
                  default: DEAD_LETTER_PAGE_DEFAULT,
                }),
              ),
              after: Type.Optional(Seq),
            },
            { additionalProperties: false },
          ),
          response: { 200: DeadLetterList, 401: ErrorBody, 403: ErrorBody, 503: ErrorBody },
        },
      },
      async (request) => {
        const page = await deadLetters
          .list({
            limit: request.query.limit ?? DEAD_LETTER_PAGE_DEFAULT,
            afterSeq: request.query.after === undefined ? 0 : Number(request.query.after),
          })
          .catch(queueError);
        return {
          items: page.items,
          total: page.total,
          next_after: page.nextAfterSeq === null ? null : String(page.nextAfterSeq),
        };
      },
    );

    app.post(
      '/v1/ops/dead-letters/replay',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags: ['ops'],
          summary:
            'Send dead-lettered orders back to settlement (named `seqs`, or `all`); each settles at most once (ops only)',
          security: [{ bearer: [] }],
          body: ReplayBody,
          response: { 200: ReplayAnswer, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 503: ErrorBody },
        },
      },
      async (request) => {
        const { seqs, all } = request.body;
        if (seqs !== undefined && all !== undefined)
          throw refuse('REPLAY_TARGET_CONFLICT', 'send either seqs or all, not both');
        if (seqs === undefined && all !== true)
          throw refuse('REPLAY_TARGET_REQUIRED', 'name the dead letters (seqs) or send all: true');
        let summary: ReplaySummary;
        let remaining: number;
        try {
          summary = seqs
            ? await deadLetters.replay(seqs.map(Number))
            : await deadLetters.replayAll({ maxReplays: REPLAY_ALL_PER_REQUEST_MAX });
          remaining = (await platform.queue.state(DEAD_LETTER_STREAM)).messages;
        } catch (err) {
          queueError(err);
        }
        request.log.info(
          { replayed: summary.replayed, notFound: summary.notFound, unreplayable: summary.unreplayable },
          'dead-letter replay',
        );
        // The replay goes through the queue, not one transaction (each order settles at most once
        // whatever happens): it is audited with what it did.
        await recordStaffActionNow(platform.db.sql, {
          actor: request.principal!,
          action: 'dead_letters_replayed',
          recordType: 'dead_letters',
          recordId: seqs ? seqs.join(',').slice(0, 200) : 'all',
          before: { seqs: seqs ?? null, all: all ?? false },
          after: summary.results.map((r) => ({ seq: r.seq, outcome: r.outcome, replaySeq: r.replaySeq })),
        });
        return {
          replayed: summary.replayed,
          not_found: summary.notFound,
          unreplayable: summary.unreplayable,
          done: summary.done,
          remaining,
          items: summary.results.map((r) => ({
            seq: String(r.seq),
            order_id: r.orderId,
            outcome: r.outcome,
            replay_seq: r.replaySeq === null ? null : String(r.replaySeq),
          })),
        };
      },
    );
  };
}
