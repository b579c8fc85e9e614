/**
 * The business date: GET /v1/business-date (any signed-in caller) says what "today" is for the
 * platform and which clock gives it; PUT /v1/ops/business-date (ops staff) sets it when the
 * deployment runs a manual clock (FENQI_BUSINESS_CLOCK=manual, src/clock.ts). Setting the date
 * moves no money and runs no close: `fenqi cob --date D` closes D and moves the date to D + 1.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { isDate } from '../../domain/index.ts';
import type { Platform } from '../../platform.ts';
import { recordStaffAction } from '../../store/staff-audit.ts';
import { ROLES, requireRole } from '../auth.ts';
import { badQuery, refuse } from '../errors.ts';
import { ErrorBody } from './lending-schemas.ts';

const BusinessDateView = Type.Object({
  business_date: Type.String({ description: 'YYYY-MM-DD' }),
  clock: Type.Union([Type.Literal('zone'), Type.Literal('manual')]),
  time_zone: Type.String(),
});

export function businessDateRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const { clock } = platform.services;
  const view = async () => ({
    business_date: await clock.today(),
    clock: clock.mode,
    time_zone: platform.config.businessTimeZone,
  });
  return async (app) => {
    app.get(
      '/v1/business-date',
      {
        preHandler: requireRole(...ROLES),
        schema: {
          tags: ['ops'],
          summary: "Today's business date and the clock that gives it",
          security: [{ bearer: [] }],
          response: { 200: BusinessDateView, 401: ErrorBody },
        },
      },
      view,
    );
    app.put(
      '/v1/ops/business-date',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags: ['ops'],
          summary: 'Set the business date (manual clock only: FENQI_BUSINESS_CLOCK=manual)',
          security: [{ bearer: [] }],
          body: Type.Object(
            { date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }) },
            { additionalProperties: false },
          ),
          response: { 200: BusinessDateView, 400: ErrorBody, 403: ErrorBody, 409: ErrorBody },
        },
      },
      async (request) => {
        if (!isDate(request.body.date))
          throw badQuery('INVALID_DATE', `${request.body.date} is not a calendar date`);
        if (clock.mode !== 'manual') {
          throw refuse(
            'BUSINESS_CLOCK_NOT_MANUAL',
            'the business date follows FENQI_BUSINESS_TIMEZONE; start the platform with FENQI_BUSINESS_CLOCK=manual to set it',
          );
        }
        const before = await clock.today();
        await platform.db.sql.begin(async (tx) => {
          await clock.set(request.body.date, tx);
          await recordStaffAction(tx, {
            actor: request.principal!,
            action: 'business_date_set',
            recordType: 'business_clock',
            recordId: 'business_date',
            before: { businessDate: before },
            after: { businessDate: request.body.date },
          });
        });
        platform.logger.info({ businessDate: request.body.date }, 'business date set');
        return view();
      },
    );
  };
}
