/**
 * /v1/ops/cob (ops staff): close a business date by hand and follow its progress. The close runs in
 * the background of the process that answers (src/cob/runner.ts); POST waits briefly so a small
 * close answers 200 with its summary at once, a long one 202 with a status URL to poll. Closing is
 * safe to repeat (a closed date is left as it is unless `force`), so no Idempotency-Key is needed.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { CobRunner, type CobRunState, type RecordedRun } from '../../cob/runner.ts';
import { platformCobSteps } from '../../cob/steps.ts';
import { cobSummaryJson } from '../../cob/view.ts';
import { isDate } from '../../domain/index.ts';
import type { Platform } from '../../platform.ts';
import { recordStaffActionNow } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { badQuery, conflict } from '../errors.ts';
import { ErrorBody } from './lending-schemas.ts';

/** How long POST waits for the close before answering 202 (most closes of a small book finish). */
export const COB_ANSWER_WAIT_MS = 2_000;

const DateString = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  description: 'business date, YYYY-MM-DD',
});

const CobBody = Type.Object(
  {
    date: DateString,
    force: Type.Optional(
      Type.Boolean({ description: 'walk a closed date again, or close while another date is unfinished' }),
    ),
  },
  { additionalProperties: false },
);

const CobStatus = Type.Object({
  date: Type.String(),
  status: Type.Union([
    Type.Literal('not_started'),
    Type.Literal('running'),
    Type.Literal('completed'),
    Type.Literal('failed'),
  ]),
  loans_done: Type.Integer(),
  loans_total: Type.Integer(),
  eta_s: Type.Union([Type.Number(), Type.Null()]),
  summary: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  message: Type.Union([Type.String(), Type.Null()]),
  status_url: Type.String(),
});

type CobStatusView = {
  date: string;
  status: 'not_started' | 'running' | 'completed' | 'failed';
  loans_done: number;
  loans_total: number;
  eta_s: number | null;
  summary: Record<string, unknown> | null;
  message: string | null;
  status_url: string;
};

function view(s: CobRunState | RecordedRun | { state: 'not_started'; date: string }): CobStatusView {
  const base = {
    date: s.date,
    eta_s: null,
    summary: null,
    message: null,
    status_url: `/v1/ops/cob/${s.date}`,
  };
  switch (s.state) {
    case 'not_started':
      return { ...base, status: 'not_started', loans_done: 0, loans_total: 0 };
    case 'running':
      return {
        ...base,
        status: 'running',
        loans_done: s.progress?.loansDone ?? 0,
        loans_total: s.progress?.loansTotal ?? 0,
        eta_s: s.progress?.etaS ?? null,
      };
    case 'completed':
      return {
        ...base,
        status: 'completed',
        loans_done: s.summary.loansDone,
        loans_total: s.summary.loansTotal,
        summary: { ...cobSummaryJson(s.summary) },
      };
    case 'refused':
    case 'failed':
      return { ...base, status: 'failed', loans_done: 0, loans_total: 0, message: s.message };
    case 'recorded':
      return { ...base, status: s.run.status, loans_done: s.run.loans_done, loans_total: s.run.loans_total };
  }
}

function checkDate(date: string): void {
  if (!isDate(date)) throw badQuery('INVALID_DATE', `${date} is not a calendar date`);
}

export function cobRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const runner = new CobRunner(platform.db.sql, platform.logger, platformCobSteps(platform));
  const route = { preHandler: requireRole('ops') };
  const tags = ['ops'];
  const security = [{ bearer: [] }];
  return async (app) => {
    app.post(
      '/v1/ops/cob',
      {
        ...route,
        schema: {
          tags,
          security,
          summary: 'Close a business date now (200 with the summary, or 202 while it runs)',
          body: CobBody,
          response: { 200: CobStatus, 202: CobStatus, 400: ErrorBody, 409: ErrorBody },
        },
      },
      async (request, reply) => {
        checkDate(request.body.date);
        // A close runs in many transactions of its own: the request is audited before it starts.
        await recordStaffActionNow(platform.db.sql, {
          actor: request.principal!,
          action: 'cob_run_requested',
          recordType: 'business_date',
          recordId: request.body.date,
          after: { date: request.body.date, force: request.body.force === true },
        });
        // a manually driven clock closes dates in whatever order the driver goes (docs/cob.md)
        const force = request.body.force === true || platform.services.clock.mode === 'manual';
        const run = runner.start({ date: request.body.date, force });
        const waited = await Promise.race([
          run.done,
          new Promise<undefined>((resolve) =>
            setTimeout(() => resolve(undefined), COB_ANSWER_WAIT_MS).unref(),
          ),
        ]);
        const state = waited ?? run.state;
        if (state.state === 'refused') throw conflict(state.code, state.message);
        const answer = view(state);
        return reply.code(state.state === 'running' ? 202 : 200).send(answer);
      },
    );

    app.get(
      '/v1/ops/cob/:date',
      {
        ...route,
        schema: {
          tags,
          security,
          summary:
            "A business date's close: running with progress, completed with its summary, or not started",
          params: Type.Object({ date: DateString }),
          response: { 200: CobStatus, 400: ErrorBody },
        },
      },
      async (request) => {
        checkDate(request.params.date);
        return view(await runner.status(request.params.date));
      },
    );
  };
}
