/**
 * A customer's monthly statements (GET /v1/me/statements, /{id}, /{id}.html: printable, zh-CN
 * first with English) and their next payment (GET /v1/me/next-payment), for the borrower app's home
 * page. Customers only, and only their own: another customer's statement is 404.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { nextPayment } from '../../domain/statements.ts';
import type { Platform } from '../../platform.ts';
import { statementHtml } from '../../statements/html.ts';
import {
  getStatement,
  listStatements,
  owedInstallments,
  type StatementLineRow,
  type StatementRow,
} from '../../store/statements.ts';
import { requireRole } from '../auth.ts';
import { notFound } from '../errors.ts';
import { idFromPath } from './ids.ts';
import { ErrorBody, money } from './lending-schemas.ts';
import { nextCursor, Page } from './page.ts';

export const STATEMENT_PAGE_DEFAULT = 12;
export const STATEMENT_PAGE_MAX = 60;

const StatementView = Type.Object({
  id: Type.String(),
  cycle_start: Type.String(),
  cycle_end: Type.String(),
  due_date: Type.String(),
  principal_due: Type.String(),
  interest_due: Type.String(),
  fee_due: Type.String(),
  penalty_due: Type.String(),
  past_due: Type.String(),
  total_due: Type.String(),
  payments_received: Type.String(),
  charges: Type.String(),
  html_url: Type.String(),
});
const LineView = Type.Object({
  kind: Type.String(),
  date: Type.String(),
  loan_id: Type.String(),
  installment: Type.Union([Type.Integer(), Type.Null()]),
  principal: Type.String(),
  interest: Type.String(),
  fee: Type.String(),
  penalty: Type.String(),
  amount: Type.String(),
});
const NextPaymentView = Type.Object({
  next_payment: Type.Union([
    Type.Object({
      date: Type.String(),
      amount: Type.String(),
      overdue: Type.Boolean(),
      items: Type.Array(
        Type.Object({ loan_id: Type.String(), installment: Type.Integer(), amount: Type.String() }),
      ),
    }),
    Type.Null(),
  ]),
  business_date: Type.String(),
});

const statementView = (s: StatementRow) => ({
  id: s.id.toString(),
  cycle_start: s.cycle_start,
  cycle_end: s.cycle_end,
  due_date: s.due_date,
  principal_due: money(s.principal_due_minor),
  interest_due: money(s.interest_due_minor),
  fee_due: money(s.fee_due_minor),
  penalty_due: money(s.penalty_due_minor),
  past_due: money(s.past_due_minor),
  total_due: money(s.total_due_minor),
  payments_received: money(s.payments_received_minor),
  charges: money(s.charges_minor),
  html_url: `/v1/me/statements/${s.id}.html`,
});

const lineView = (l: StatementLineRow) => ({
  kind: l.kind,
  date: l.line_date,
  loan_id: l.loan_id.toString(),
  installment: l.installment_number === null ? null : Number(l.installment_number),
  principal: money(l.principal_minor),
  interest: money(l.interest_minor),
  fee: money(l.fee_minor),
  penalty: money(l.penalty_minor),
  amount: money(l.amount_minor),
});

/** `123` or `123.html`: the statement id and whether the page is wanted. */
function parseStatementPath(text: string): { id: bigint; html: boolean } {
  const m = /^(\d{1,19})(\.html)?$/.exec(text);
  const id = m ? idFromPath(m[1]!) : undefined;
  if (!m || id === undefined) throw notFound('statement');
  return { id, html: m[2] !== undefined };
}

export function statementRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  const customer = { preHandler: requireRole('customer'), security: [{ bearer: [] }], tags: ['statements'] };
  return async (app) => {
    app.get(
      '/v1/me/statements',
      {
        preHandler: customer.preHandler,
        schema: {
          tags: customer.tags,
          security: customer.security,
          summary: "The calling customer's monthly statements, newest first",
          querystring: Type.Object(
            {
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: STATEMENT_PAGE_MAX })),
              cursor: Type.Optional(Type.String({ pattern: '^\\d{1,19}$' })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Page(StatementView) },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? STATEMENT_PAGE_DEFAULT;
        const before = request.query.cursor === undefined ? null : (idFromPath(request.query.cursor) ?? null);
        const rows = await listStatements(sql, request.principal!.id, before, limit);
        return { items: rows.map(statementView), next_cursor: nextCursor(rows, limit, (s) => s.id) };
      },
    );

    app.get(
      '/v1/me/statements/:file',
      {
        preHandler: customer.preHandler,
        schema: {
          tags: customer.tags,
          security: customer.security,
          summary: 'One statement with its lines (JSON), or `/{id}.html`: the printable page',
          params: Type.Object({ file: Type.String({ maxLength: 30 }) }),
          response: {
            200: Type.Union([
              Type.Object({ statement: StatementView, lines: Type.Array(LineView) }),
              Type.String(),
            ]),
            404: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        const { id, html } = parseStatementPath(request.params.file);
        const found = await getStatement(sql, request.principal!.id, id);
        if (!found) throw notFound('statement');
        if (html) {
          return reply
            .type('text/html; charset=utf-8')
            .header('content-disposition', `inline; filename="statement-${found.statement.cycle_start}.html"`)
            .send(statementHtml(found.statement, found.lines));
        }
        return { statement: statementView(found.statement), lines: found.lines.map(lineView) };
      },
    );

    app.get(
      '/v1/me/next-payment',
      {
        preHandler: customer.preHandler,
        schema: {
          tags: customer.tags,
          security: customer.security,
          summary: 'The next payment: the earliest due date with anything unpaid and what is owed on it',
          response: { 200: NextPaymentView },
        },
      },
      async (request) => {
        const customerId = request.principal!.id;
        const today = await platform.services.clock.today();
        const owed = (await owedInstallments(sql, [customerId], null)).get(customerId) ?? [];
        const next = nextPayment(owed, today);
        return {
          business_date: today,
          next_payment: next && {
            date: next.date,
            amount: money(next.amountMinor),
            overdue: next.overdue,
            items: next.items.map((i) => ({
              loan_id: i.loanId.toString(),
              installment: i.installmentNumber,
              amount: money(i.amountMinor),
            })),
          },
        };
      },
    );
  };
}
