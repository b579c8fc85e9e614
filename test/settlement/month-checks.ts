/**
 * What the month (month.test.ts) must show for money in and out, each count from a source apart
 * from the one under test: debit chains against the retry schedule and the bank's own decisions,
 * the reminders close of business wrote against the installments (expectedReminders), the messages
 * against the events and the scenario, and quiet hours against the send times.
 */
import assert from 'node:assert/strict';
import {
  DEBIT_MAX_ATTEMPTS,
  DEBIT_RETRY_DAY_OFFSETS,
  DEBIT_SAME_DAY_RETRY_MS,
} from '../../src/domain/auto-debit.ts';
import { addDays } from '../../src/domain/dates.ts';
import { QUIET_HOURS_END_HOUR, QUIET_HOURS_START_HOUR, TEMPLATE_OF } from '../../src/domain/notifications.ts';
import type { Platform } from '../../src/platform.ts';
import { at, BUSINESS_ZONE, expectedReminders, type InstallmentFact, type MoneyDesk } from './month-money.ts';

type Sql = Platform['db']['sql'];

export interface MonthFacts {
  firstClose: string;
  lastClose: string;
  /** Customers with automatic debit on, each with one back-book installment due in the month. */
  debitCustomers: ReadonlySet<bigint>;
  /** Early payments by hand, orders (all settled) and returns the scenario made. */
  earlyPayments: number;
  orders: number;
  returns: number;
  /** Customers who chose English (the rest get zh-CN, the default). */
  englishCustomers: ReadonlySet<bigint>;
  /** The product's late fee, charged at the close of the due date. */
  lateFeeMinor: bigint;
}

export interface MoneyFigures {
  attempts: number;
  succeeded: number;
  failed: Record<string, number>;
  retries: number;
  finalFailures: number;
  unknownResolved: number;
  debitedMinor: bigint;
  reminders: Record<string, number>;
  messages: number;
  sendFailures: number;
  heldInQuietHours: number;
}

/** Business days from the due date on which attempt n runs: 1 and 2 on it, then the retry days. */
const RUN_OFFSETS = [0, 0, ...DEBIT_RETRY_DAY_OFFSETS];
/** When the month's debit passes run (month.test.ts): attempt 1 fails at 09:00, attempt 2 is due 4 h on. */
const MORNING_PASS = '09:00';

interface AttemptRow {
  customer_id: bigint;
  loan_id: bigint;
  id: bigint;
  due_date: string;
  attempt_number: number;
  run_date: string;
  not_before: Date;
  status: string;
  failure_reason: string | null;
  amount_minor: bigint | null;
  repaid: bigint | null;
  installment_minor: bigint;
}

/** Every debit chain followed the schedule; the bank charged each attempt once; returns when each loan was paid. */
async function checkDebits(sql: Sql, desk: MoneyDesk, facts: MonthFacts) {
  const rows = await sql<AttemptRow[]>`
    select a.customer_id, a.loan_id, a.id, a.due_date::text as due_date, a.attempt_number, a.run_date::text as run_date,
      a.not_before, a.status, a.failure_reason, a.amount_minor, r.amount_minor as repaid,
      (select i.principal_minor + i.interest_minor + i.fee_minor from installments i
        where i.customer_id = a.customer_id and i.loan_id = a.loan_id and i.due_date = a.due_date) as installment_minor
    from debit_attempts a left join repayments r on r.customer_id = a.customer_id and r.id = a.repayment_id
    order by a.customer_id, a.loan_id, a.due_date, a.attempt_number`;
  const chains = new Map<string, AttemptRow[]>();
  for (const r of rows) {
    const key = `${r.loan_id}:${r.due_date}`;
    chains.set(key, [...(chains.get(key) ?? []), r]);
  }
  assert.deepEqual(
    [...new Set(rows.map((r) => r.customer_id))].sort(),
    [...facts.debitCustomers].sort(),
    'exactly the customers with automatic debit on were debited',
  );
  assert.equal(chains.size, facts.debitCustomers.size, 'one debit per installment due');
  const paidOn = new Map<string, string>();
  for (const [key, chain] of chains) {
    chain.forEach((a, n) => {
      assert.equal(a.attempt_number, n + 1, `${key}: attempts numbered in order`);
      assert.equal(a.run_date, addDays(a.due_date, RUN_OFFSETS[n]!), `${key}: attempt ${n + 1} on schedule`);
      if (n === 1)
        assert.equal(
          a.not_before.getTime(),
          at(a.due_date, MORNING_PASS).getTime() + DEBIT_SAME_DAY_RETRY_MS,
          `${key}: the same-day retry waits ${DEBIT_SAME_DAY_RETRY_MS} ms`,
        );
      const late = a.run_date > a.due_date ? facts.lateFeeMinor : 0n;
      assert.equal(a.amount_minor, a.installment_minor + late, `${key}: charged what was due that day`);
      const last = n === chain.length - 1;
      if (!last) assert.equal(a.status, 'failed', `${key}: only a failure is retried`);
    });
    const end = chain.at(-1)!;
    if (end.status === 'succeeded') {
      assert.equal(end.repaid, end.amount_minor, `${key}: the charge posted as one repayment`);
      paidOn.set(key, end.run_date);
    } else {
      assert.equal(end.status, 'failed', `${key}: every chain ended`);
      assert.equal(chain.length, DEBIT_MAX_ATTEMPTS, `${key}: a chain ends failed only after the last retry`);
    }
  }
  const collected = desk.gateway.collected();
  const refused = desk.gateway.refusals();
  assert.deepEqual(
    [...collected.keys(), ...refused.keys()].sort(),
    rows.map((r) => r.id.toString()).sort(),
    'the bank decided every attempt, and only those',
  );
  assert.equal(desk.gateway.charges, rows.length, 'each attempt charged once: no second charge');
  assert.ok(desk.gateway.timeouts > 0, 'some answers were lost');
  assert.equal(desk.debits.stats.unknown, desk.gateway.timeouts, 'each lost answer left the attempt unknown');
  assert.equal(desk.debits.stats.resolved, desk.gateway.timeouts, 'and was resolved by a status query');
  const succeeded = rows.filter((r) => r.status === 'succeeded');
  assert.deepEqual(
    succeeded.map((r) => `${r.id}:${r.amount_minor}`).sort(),
    [...collected].map(([id, minor]) => `${id}:${minor}`).sort(),
    'each charge the bank took is one succeeded attempt of the same amount',
  );
  const failed: Record<string, number> = {};
  for (const reason of refused.values()) failed[reason] = (failed[reason] ?? 0) + 1;
  const dbFailed: Record<string, number> = {};
  for (const r of rows.filter((x) => x.status === 'failed'))
    dbFailed[r.failure_reason!] = (dbFailed[r.failure_reason!] ?? 0) + 1;
  assert.deepEqual(dbFailed, failed, 'failures by the reason the bank gave');
  assert.ok((failed.insufficient_funds ?? 0) > 0 && (failed.card_blocked ?? 0) > 0, 'both refusals happened');
  const debitedMinor = [...collected.values()].reduce((a, b) => a + b, 0n);
  return {
    paidOn,
    figures: {
      attempts: rows.length,
      succeeded: succeeded.length,
      failed,
      retries: rows.filter((r) => r.attempt_number > 1).length,
      finalFailures: [...chains.values()].filter((c) => c.at(-1)!.status === 'failed').length,
      unknownResolved: desk.debits.stats.resolved,
      debitedMinor,
    },
  };
}

/** The reminders and overdue notices close of business wrote are exactly those owed. */
async function checkReminders(sql: Sql, facts: MonthFacts, paidOn: ReadonlyMap<string, string>) {
  const installments = await sql<
    { loan_id: bigint; number: number; due_date: string; amount: bigint; paid: bigint; owed: bigint }[]
  >`
    select i.loan_id, i.number, i.due_date::text as due_date,
      (i.principal_minor + i.interest_minor + i.fee_minor)::bigint as amount,
      (i.paid_principal_minor + i.paid_interest_minor + i.paid_fee_minor)::bigint as paid,
      (i.principal_minor + i.interest_minor + i.fee_minor + i.penalty_minor - i.paid_principal_minor
        - i.paid_interest_minor - i.paid_fee_minor - i.paid_penalty_minor)::bigint as owed
    from installments i join loans l on l.customer_id = i.customer_id and l.id = i.loan_id and l.status = 'active'
    where i.due_date <= ${addDays(facts.lastClose, 8)}::date`;
  const owedFacts: InstallmentFact[] = installments.map((i) => {
    const debited = paidOn.get(`${i.loan_id}:${i.due_date}`);
    return {
      loanId: i.loan_id,
      number: i.number,
      dueDate: i.due_date,
      amountMinor: i.amount,
      paidEarlyMinor: debited ? 0n : i.paid,
      paidOn: debited ?? (i.owed === 0n ? 'early' : null),
    };
  });
  const written = await sql<{ line: string }[]>`
    select concat_ws(':', payload->>'loan_id', payload->>'installment_number', type,
      coalesce(payload->>'days_until_due', payload->>'days_overdue', '0'),
      case when type <> 'installment.overdue' then payload->>'amount_due_minor' end) as line
    from outbox_events where type like 'installment.%'`;
  const expected = expectedReminders(owedFacts, facts.firstClose, facts.lastClose);
  assert.deepEqual(
    written.map((w) => w.line).sort(),
    expected,
    'close of business wrote the reminders owed, once each',
  );
  const reminders: Record<string, number> = {};
  for (const line of expected) {
    const [, , type, days] = line.split(':');
    const name = `${type!.replace('installment.', '')}${type === 'installment.overdue' ? `_${days}` : ''}`;
    reminders[name] = (reminders[name] ?? 0) + 1;
  }
  assert.ok(
    ['due_soon', 'due_today', 'overdue_1', 'overdue_3', 'overdue_7'].every((k) => (reminders[k] ?? 0) > 0),
    `every kind of reminder was owed in the month: ${JSON.stringify(reminders)}`,
  );
  return reminders;
}

/** Every templated event became one SMS and one push, sent once, outside quiet hours. */
async function checkMessages(
  sql: Sql,
  desk: MoneyDesk,
  facts: MonthFacts,
  succeeded: number,
  refused: number,
) {
  const events = await sql<{ type: string; n: number }[]>`
    select type, count(*)::int as n from outbox_events group by type`;
  const eventsOf = (type: string) => events.find((e) => e.type === type)?.n ?? 0;
  const [statements] = await sql<{ n: number }[]>`select count(*)::int as n from statements`;
  assert.equal(eventsOf('order.settled'), facts.orders, 'an event per order settled');
  assert.equal(eventsOf('goods.returned'), facts.returns, 'an event per return');
  assert.equal(
    eventsOf('repayment.received'),
    facts.earlyPayments + succeeded,
    'an event per payment received',
  );
  assert.equal(eventsOf('debit.failed'), refused, 'an event per debit refused');
  assert.equal(eventsOf('statement.ready'), statements!.n, 'an event per statement');
  const [relayed] = await sql<{ all: number; waiting: number }[]>`
    select count(*)::int as all, count(*) filter (where relayed_at is null)::int as waiting from outbox_events`;
  assert.equal(relayed!.waiting, 0, 'the relay left nothing behind');
  assert.equal(desk.relayed, relayed!.all, 'and relayed each event once');
  const byTemplate = await sql<{ template: string; status: string; n: number }[]>`
    select template, status, count(*)::int as n from notifications group by template, status`;
  assert.deepEqual(
    byTemplate.filter((t) => t.status !== 'sent'),
    [],
    'every message was sent in the end',
  );
  for (const [type, spec] of Object.entries(TEMPLATE_OF)) {
    const sent = byTemplate.find((t) => t.template === spec!.name)?.n ?? 0;
    assert.equal(sent, 2 * eventsOf(type), `${spec!.name}: one SMS and one push per ${type} event`);
  }
  const total = byTemplate.reduce((a, t) => a + t.n, 0);
  const deliveries = [...desk.sms.deliveries(), ...desk.push.deliveries()];
  assert.equal(deliveries.length, total, 'the providers delivered each message once');
  assert.equal(desk.sms.deliveries().length, desk.push.deliveries().length);
  for (const d of deliveries) {
    const english = facts.englishCustomers.has(BigInt(d.customerId));
    assert.ok(d.text.startsWith(english ? '[fenqi]' : '【分期】'), 'in the customer’s language');
  }
  assert.ok(desk.notifier.stats.failed > 0, 'some sends failed and were retried');
  const [quiet] = await sql<{ n: number }[]>`
    select count(*)::int as n from notifications
    where extract(hour from sent_at at time zone ${BUSINESS_ZONE}) >= ${QUIET_HOURS_START_HOUR}
       or extract(hour from sent_at at time zone ${BUSINESS_ZONE}) < ${QUIET_HOURS_END_HOUR}`;
  assert.equal(quiet!.n, 0, 'nothing was sent in quiet hours');
  assert.ok(desk.heldInQuietHours > 0, 'messages due in quiet hours were held, not sent');
  return { messages: total, sendFailures: desk.notifier.stats.failed };
}

export async function checkMoneyInAndOut(
  sql: Sql,
  desk: MoneyDesk,
  facts: MonthFacts,
): Promise<MoneyFigures> {
  const debits = await checkDebits(sql, desk, facts);
  const reminders = await checkReminders(sql, facts, debits.paidOn);
  const refused = Object.values(debits.figures.failed).reduce((a, b) => a + b, 0);
  const messages = await checkMessages(sql, desk, facts, debits.figures.succeeded, refused);
  return { ...debits.figures, reminders, ...messages, heldInQuietHours: desk.heldInQuietHours };
}
