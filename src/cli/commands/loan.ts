import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { UsageError } from '../usage-error.ts';

/**
 * `fenqi loan ...`: the servicing an operator does by hand (goods returns, charges and waivers,
 * write-off, re-age, reschedule, deciding proposals), sent to a running API as a staff user, so the
 * API's role checks, maker-checker, idempotency and audit apply exactly as in the console. Each
 * sends an Idempotency-Key (`--key`, else a new one, printed so a retry can reuse it) and prints the
 * API's answer as one JSON line.
 */

interface ApiFlags {
  api: string;
  username: string;
  key?: string;
}

interface Action {
  name: string;
  description: string;
  /** Options beyond the API ones: [flags, description, required]. */
  options: readonly (readonly [string, string, boolean])[];
  /** The route and body from the flags; undefined fields are left out of the body. */
  request: (flags: Record<string, string | undefined>) => { path: string; body?: Record<string, unknown> };
}

const ID = /^[0-9]{1,19}$/;

function id(flags: Record<string, string | undefined>, name: string): string {
  const value = flags[name];
  if (value === undefined || !ID.test(value)) throw new UsageError(`--${name} must be an id (digits)`);
  return value;
}

function wholeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]{1,6}$/.test(value)) throw new UsageError(`${flag} must be a whole number`);
  return Number(value);
}

const ACTIONS: readonly Action[] = [
  {
    name: 'return',
    description:
      'goods returned on an order: all (no --amount) or part; refund to the card or credit balance',
    options: [
      ['--order <id>', 'the order', true],
      ['--amount <amount>', 'value returned, e.g. 250.00 (default: everything not yet returned)', false],
      ['--refund-to <where>', 'card (default) or credit_balance', false],
    ],
    request: (f) => ({
      path: `/v1/orders/${id(f, 'order')}/returns`,
      body: { amount: f.amount, refund_to: f.refundTo },
    }),
  },
  {
    name: 'charge',
    description: 'an ad-hoc fee on a loan (a returned-payment fee); above the staff limit it is proposed',
    options: [
      ['--loan <id>', 'the loan', true],
      ['--amount <amount>', 'e.g. 15.00', true],
      ['--reason <text>', 'why, in plain words', true],
      ['--installment <n>', 'installment number (default: the oldest open one)', false],
    ],
    request: (f) => ({
      path: `/v1/loans/${id(f, 'loan')}/charges`,
      body: { amount: f.amount, reason: f.reason, installment: wholeNumber(f.installment, '--installment') },
    }),
  },
  {
    name: 'waive',
    description: 'waive a fee, interest or penalty; above the staff limit it is proposed',
    options: [
      ['--loan <id>', 'the loan', true],
      ['--component <c>', 'fee, interest or penalty', true],
      ['--amount <amount>', 'e.g. 10.00', true],
      ['--reason <text>', 'why, in plain words', true],
      ['--installment <n>', 'installment number (default: oldest first)', false],
    ],
    request: (f) => ({
      path: `/v1/loans/${id(f, 'loan')}/waivers`,
      body: {
        component: f.component,
        amount: f.amount,
        reason: f.reason,
        installment: wholeNumber(f.installment, '--installment'),
      },
    }),
  },
  {
    name: 'write-off',
    description: 'write one loan off on a date (default today)',
    options: [
      ['--loan <id>', 'the loan', true],
      ['--reason <text>', 'why, in plain words', true],
      ['--date <date>', 'YYYY-MM-DD, from the loan start to today', false],
    ],
    request: (f) => ({
      path: `/v1/loans/${id(f, 'loan')}/write-off`,
      body: { reason: f.reason, date: f.date },
    }),
  },
  {
    name: 're-age',
    description: "move the past-due amounts after the last installment (the customer's consent recorded)",
    options: [
      ['--loan <id>', 'the loan', true],
      ['--consent <ref>', "reference of the customer's signed consent", true],
    ],
    request: (f) => ({
      path: `/v1/loans/${id(f, 'loan')}/hardship/re-age`,
      body: { consent_ref: f.consent },
    }),
  },
  {
    name: 'reschedule',
    description: 'a new schedule for the outstanding principal: new term, new due day (consent recorded)',
    options: [
      ['--loan <id>', 'the loan', true],
      ['--consent <ref>', "reference of the customer's signed consent", true],
      ['--tenor <n>', 'number of new installments', true],
      ['--start-date <date>', 'the new periods count from this date (its day is the new due day)', false],
    ],
    request: (f) => ({
      path: `/v1/loans/${id(f, 'loan')}/hardship/reschedule`,
      body: { consent_ref: f.consent, tenor: wholeNumber(f.tenor, '--tenor'), start_date: f.startDate },
    }),
  },
  {
    name: 'decide',
    description: 'approve or reject a proposal someone else made (a charge, a waiver or a reschedule)',
    options: [
      ['--proposal <id>', 'the proposal', true],
      ['--decision <d>', 'approve or reject', true],
      ['--loan <id>', "the loan, for a reschedule's proposal", false],
    ],
    request: (f) => {
      const decision = f.decision;
      if (decision !== 'approve' && decision !== 'reject')
        throw new UsageError('--decision is approve or reject');
      const proposal = id(f, 'proposal');
      return f.loan === undefined
        ? { path: `/v1/adjustment-proposals/${proposal}/${decision}` }
        : { path: `/v1/loans/${id(f, 'loan')}/hardship/proposals/${proposal}/${decision}` };
    },
  },
];

async function send(action: Action, flags: ApiFlags & Record<string, string | undefined>): Promise<void> {
  const { call, logIn } = await import('../api-client.ts');
  const { path, body } = action.request(flags);
  const key = flags.key ?? randomUUID();
  const token = await logIn(flags.api, flags.username);
  const answer = await call<unknown>(flags.api, path, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      'idempotency-key': key,
    },
    body: JSON.stringify(body ?? {}),
  });
  process.stderr.write(`idempotency key ${key} (reuse it with --key to retry safely)\n`);
  process.stdout.write(`${JSON.stringify({ status: answer.status, ...(answer.body as object) })}\n`);
}

export function register(program: Command): void {
  const loan = program
    .command('loan')
    .description('servicing through a running API as staff: returns, charges, waivers, write-off, hardship');
  for (const action of ACTIONS) {
    const sub = loan.command(action.name).description(action.description);
    for (const [flags, description, required] of action.options) {
      if (required) sub.requiredOption(flags, description);
      else sub.option(flags, description);
    }
    sub
      .requiredOption('--api <url>', 'the fenqi API, e.g. http://127.0.0.1:3000')
      .option('--username <name>', 'the staff user (password from FENQI_PASSWORD or stdin)', 'ops')
      .option('--key <key>', 'Idempotency-Key (default: a new one)')
      .action((flags: ApiFlags & Record<string, string | undefined>) => send(action, flags));
  }
}
