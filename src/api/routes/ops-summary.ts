/**
 * GET /v1/ops/summary (staff: risk and ops): what the operations console's overview draws —
 * decisions by outcome per business day, active loans per delinquency bucket, open reviews, the
 * last close of business and whether the last day's journal entries balance. Read-only and
 * bounded (src/store/ops-summary.ts); a read that runs past its time budget is a retryable 503.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Platform } from '../../platform.ts';
import { isQueryCanceled } from '../../store/db-errors.ts';
import {
  BUCKETS,
  LEDGER_ENTRIES_MAX,
  readOpsSummary,
  SUMMARY_DAYS_DEFAULT,
  SUMMARY_DAYS_MAX,
} from '../../store/ops-summary.ts';
import { requireRole } from '../auth.ts';
import { unavailable } from '../errors.ts';
import { ErrorBody, money } from './lending-schemas.ts';

/** PostgreSQL's code for a statement cancelled by statement_timeout. */

const SummaryQuery = Type.Object(
  {
    days: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: SUMMARY_DAYS_MAX,
        default: SUMMARY_DAYS_DEFAULT,
        description: 'business days of decisions to show, ending today',
      }),
    ),
  },
  { additionalProperties: false },
);

const Summary = Type.Object({
  generated_at: Type.String(),
  days: Type.Integer(),
  time_zone: Type.String({ description: 'the business time zone days are cut in' }),
  decisions_by_day: Type.Array(
    Type.Object({
      date: Type.String(),
      approve: Type.Integer(),
      decline: Type.Integer(),
      refer: Type.Integer(),
    }),
    { description: 'one per day, oldest first, zeros included' },
  ),
  loans_by_bucket: Type.Array(
    Type.Object({
      bucket: Type.Enum(BUCKETS),
      loans: Type.Integer(),
      principal: Type.String({ description: 'original principal of those loans, CNY' }),
      owed: Type.String({
        description: 'what those loans still owe (unpaid installments, every component), CNY',
      }),
    }),
    { description: 'active loans, every bucket in order current, M1, M2, M3, M3+' },
  ),
  open_reviews: Type.Integer(),
  last_cob: Type.Union([
    Type.Null(),
    Type.Object({
      business_date: Type.String(),
      status: Type.String(),
      loans_done: Type.Integer(),
      loans_total: Type.Integer(),
    }),
  ]),
  ledger: Type.Object({
    status: Type.Union([Type.Literal('balanced'), Type.Literal('unbalanced')]),
    window_hours: Type.Integer(),
    entries: Type.Integer({
      description: `journal entries checked (the newest, at most ${LEDGER_ENTRIES_MAX})`,
    }),
    truncated: Type.Boolean({ description: 'more entries were made in the window than were checked' }),
    debits: Type.String(),
    credits: Type.String(),
    unbalanced_entries: Type.Integer(),
  }),
});

export function opsSummaryRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const { db, config } = platform;
  return async (app) => {
    app.get(
      '/v1/ops/summary',
      {
        preHandler: requireRole('risk', 'ops'),
        schema: {
          tags: ['ops'],
          summary: 'Numbers for the operations overview: decisions per day, loans per bucket, ledger check',
          security: [{ bearer: [] }],
          querystring: SummaryQuery,
          response: { 200: Summary, 503: ErrorBody },
        },
      },
      async (request) => {
        let s: Awaited<ReturnType<typeof readOpsSummary>>;
        try {
          s = await readOpsSummary(db.sql, {
            days: request.query.days ?? SUMMARY_DAYS_DEFAULT,
            timeZone: config.businessTimeZone,
          });
        } catch (err) {
          if (isQueryCanceled(err)) {
            throw unavailable('DATABASE_UNAVAILABLE', 'the summary took too long to read; retry shortly', 5);
          }
          throw err;
        }
        return {
          generated_at: new Date().toISOString(),
          days: s.days,
          time_zone: s.timeZone,
          decisions_by_day: s.decisionsByDay,
          loans_by_bucket: s.loansByBucket.map((b) => ({
            bucket: b.bucket,
            loans: b.loans,
            principal: money(b.principalMinor),
            owed: money(b.owedMinor),
          })),
          open_reviews: s.openReviews,
          last_cob: s.lastCob && {
            business_date: s.lastCob.businessDate,
            status: s.lastCob.status,
            loans_done: s.lastCob.loansDone,
            loans_total: s.lastCob.loansTotal,
          },
          ledger: {
            status: s.ledger.status,
            window_hours: s.ledger.windowHours,
            entries: s.ledger.entries,
            truncated: s.ledger.truncated,
            debits: money(s.ledger.debitsMinor),
            credits: money(s.ledger.creditsMinor),
            unbalanced_entries: s.ledger.unbalancedEntries,
          },
        };
      },
    );
  };
}
