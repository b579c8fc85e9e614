/**
 * Automatic debit in SQL (docs/events.md, "Automatic debit"): cards on file, the customer's choice,
 * and the debit attempts. An attempt is claimed (`sending`, committed) before the gateway is
 * charged, so a worker that dies mid-charge leaves a row another worker resolves by asking the
 * gateway (`status`), never by charging a new id. The outcome applies once: under the attempt's row
 * lock, a succeeded attempt posts its repayment through the one repayment path (applyRepayment), a
 * failed one emits `debit.failed` and schedules the next try from domain/auto-debit.ts.
 */

import { DEBIT_SAME_DAY_RETRY_MS, nextDebitAttempt } from '../domain/auto-debit.ts';
import { domainEvent } from '../domain/events.ts';
import type { DebitOutcome } from '../payments/collection.ts';
import { blindIndex, type FieldCrypto } from './crypto.ts';
import { requireCustomer } from './customers.ts';
import type { Sql, TransactionSql } from './db.ts';
import { INSTALLMENT_OWED_SQL, nextIds } from './loans.ts';
import { emitEvents } from './outbox.ts';
import { Refusal } from './refusal.ts';
import { applyRepayment } from './repayments.ts';

/** Installments that fell due up to this many days ago and were never debited are still debited. */
export const DEBIT_CATCH_UP_DAYS = 2;
/** A `sending` attempt untouched this long belongs to a worker that died: resolve it. */
export const DEBIT_SENDING_STALE_MS = 30_000;
export const DEBIT_CLAIM_MAX = 500;

export interface CardView {
  id: bigint;
  bin: string;
  last4: string;
}

/** Adds a card (tokenised by the gateway; only the token, encrypted, and BIN/last four are kept). */
export async function addCard(
  tx: TransactionSql,
  crypto: FieldCrypto,
  customerId: bigint,
  cardNumber: string,
  token: string,
): Promise<CardView> {
  await requireCustomer(tx, customerId);
  const bidx = blindIndex(crypto.blindIndexKey, 'bank_card', cardNumber);
  const [existing] = await tx<CardView[]>`
    select id, bin, last4 from payment_cards where customer_id = ${customerId} and card_bidx = ${bidx}`;
  if (existing) return existing;
  const [id] = (await nextIds(tx, 1)) as [bigint];
  const tokenEnc = crypto.cipher.encrypt(token, { table: 'payment_cards', column: 'token_enc', rowId: id });
  const card: CardView = { id, bin: cardNumber.slice(0, 6), last4: cardNumber.slice(-4) };
  await tx`
    insert into payment_cards (customer_id, id, token_enc, bin, last4, card_bidx)
    values (${customerId}, ${id}, ${tokenEnc}, ${card.bin}, ${card.last4}, ${bidx})`;
  // the first card becomes the debit card; a later one only when the customer chooses it
  await tx`
    insert into auto_debit_settings (customer_id, enabled, card_id) values (${customerId}, true, ${id})
    on conflict (customer_id) do update set card_id = coalesce(auto_debit_settings.card_id, excluded.card_id),
      updated_at = excluded.updated_at`;
  return card;
}

export interface AutoDebitSetting {
  enabled: boolean;
  cardId: bigint | null;
}

export async function getAutoDebit(sql: Sql | TransactionSql, customerId: bigint): Promise<AutoDebitSetting> {
  const [row] = await sql<{ enabled: boolean; card_id: bigint | null }[]>`
    select enabled, card_id from auto_debit_settings where customer_id = ${customerId}`;
  return { enabled: row?.enabled ?? false, cardId: row?.card_id ?? null };
}

/** Turns auto-debit on or off and chooses the card (one of the customer's own). Idempotent. */
export async function setAutoDebit(
  tx: TransactionSql,
  customerId: bigint,
  change: { enabled?: boolean; cardId?: bigint },
): Promise<AutoDebitSetting> {
  await requireCustomer(tx, customerId);
  if (change.cardId !== undefined) {
    const [card] =
      await tx`select 1 from payment_cards where customer_id = ${customerId} and id = ${change.cardId}`;
    if (!card) throw new Refusal('CARD_NOT_FOUND', 'no such card on file');
  }
  const current = await getAutoDebit(tx, customerId);
  const next = { enabled: change.enabled ?? current.enabled, cardId: change.cardId ?? current.cardId };
  if (next.enabled && next.cardId === null)
    throw new Refusal('CARD_REQUIRED', 'add a card before turning auto-debit on');
  await tx`
    insert into auto_debit_settings (customer_id, enabled, card_id) values (${customerId}, ${next.enabled}, ${next.cardId})
    on conflict (customer_id) do update set enabled = excluded.enabled, card_id = excluded.card_id,
      updated_at = excluded.updated_at`;
  return next;
}

export async function listCards(sql: Sql, customerId: bigint): Promise<CardView[]> {
  return sql<
    CardView[]
  >`select id, bin, last4 from payment_cards where customer_id = ${customerId} order by id`;
}

/**
 * First attempts for installments due up to `today` (within the catch-up) not yet debited, runnable
 * from `now`. Read first, then inserted with ids drawn here: on Citus an INSERT ... SELECT between
 * co-located tables runs on the workers, where the id default's sequence does not exist.
 */
export async function scheduleDueDebits(sql: Sql, today: string, now: Date): Promise<number> {
  return sql.begin(async (tx) => {
    const due = await tx<{ customer_id: bigint; loan_id: bigint; due_date: string; card_id: bigint }[]>`
      select distinct i.customer_id, i.loan_id, i.due_date::text as due_date, s.card_id
      from installments i
        join loans l on l.customer_id = i.customer_id and l.id = i.loan_id and l.status = 'active'
        join auto_debit_settings s on s.customer_id = i.customer_id and s.enabled and s.card_id is not null
      where i.status in ('due', 'overdue')
        and i.due_date between ${today}::date - ${DEBIT_CATCH_UP_DAYS}::int and ${today}::date
        and not exists (
          select 1 from debit_attempts a
          where a.customer_id = i.customer_id and a.loan_id = i.loan_id and a.due_date = i.due_date
            and a.attempt_number = 1)`;
    if (due.length === 0) return 0;
    const ids = await nextIds(tx, due.length);
    const column = (f: (d: (typeof due)[number]) => bigint | string) => due.map((d) => String(f(d)));
    const rows = await tx`
      insert into debit_attempts (id, customer_id, loan_id, due_date, attempt_number, card_id, status, run_date, not_before)
      select x.id, x.customer_id, x.loan_id, x.due_date, 1, x.card_id, 'scheduled', ${today}::date, ${now}::timestamptz
      from unnest(${ids.map(String)}::bigint[], ${column((d) => d.customer_id)}::bigint[],
        ${column((d) => d.loan_id)}::bigint[], ${column((d) => d.due_date)}::date[],
        ${column((d) => d.card_id)}::bigint[]) as x(id, customer_id, loan_id, due_date, card_id)
      on conflict (customer_id, loan_id, due_date, attempt_number) do nothing
      returning id`;
    return rows.length;
  });
}

export interface ClaimedAttempt {
  customerId: bigint;
  id: bigint;
  loanId: bigint;
  dueDate: string;
  attemptNumber: number;
  amountMinor: bigint;
  tokenEnc: Uint8Array;
  cardId: bigint;
  status: 'sending' | 'unknown';
}

/**
 * The attempts due now, each locked (skipping those another worker holds) with the amount due on
 * its loan today. Read, then locked one by one through its customer: Citus runs no FOR UPDATE
 * across shards, and each row's lock and amount are single-shard statements.
 */
async function lockDueAttempts(
  tx: TransactionSql,
  today: string,
  now: Date,
  limit: number,
): Promise<
  { customer_id: bigint; id: bigint; loan_id: bigint; due_date: string; due_minor: bigint | null }[]
> {
  const candidates = await tx<{ customer_id: bigint; id: bigint; loan_id: bigint; due_date: string }[]>`
    select customer_id, id, loan_id, due_date::text as due_date from debit_attempts
    where status = 'scheduled' and run_date <= ${today}::date and not_before <= ${now}
    order by run_date, not_before limit ${limit}`;
  const locked = [];
  for (const c of candidates) {
    const [held] = await tx`
      select 1 from debit_attempts
      where customer_id = ${c.customer_id} and id = ${c.id} and status = 'scheduled'
      for update skip locked`;
    if (!held) continue;
    const [owed] = await tx<{ due_minor: bigint | null }[]>`
      select sum(${tx.unsafe(INSTALLMENT_OWED_SQL)})::bigint as due_minor
      from installments i join loans l on l.customer_id = i.customer_id and l.id = i.loan_id and l.status = 'active'
      where i.customer_id = ${c.customer_id} and i.loan_id = ${c.loan_id} and i.status in ('due', 'overdue')
        and i.due_date <= ${today}::date`;
    locked.push({ ...c, due_minor: owed?.due_minor ?? null });
  }
  return locked;
}

/**
 * Claims attempts due now: each gets the amount due on its loan today (what is unpaid of every
 * installment due by today) and becomes `sending`; one with nothing left due is `cancelled`.
 */
export async function claimDueAttempts(
  sql: Sql,
  today: string,
  now: Date,
  limit: number,
): Promise<ClaimedAttempt[]> {
  return sql.begin(async (tx) => {
    const rows = await lockDueAttempts(tx, today, now, Math.min(limit, DEBIT_CLAIM_MAX));
    const due = rows.filter((r) => (r.due_minor ?? 0n) > 0n);
    const none = rows.filter((r) => (r.due_minor ?? 0n) <= 0n);
    if (none.length > 0)
      await tx`update debit_attempts set status = 'cancelled', updated_at = now()
        where (customer_id, id) in (select * from unnest(${none.map((r) => r.customer_id.toString())}::bigint[],
          ${none.map((r) => r.id.toString())}::bigint[]))`;
    if (due.length === 0) return [];
    // the due date as text from the read: Citus allows no cast that depends on settings in RETURNING
    const dueDateOf = new Map(due.map((r) => [`${r.customer_id}:${r.id}`, r.due_date]));
    const sending = await tx<Record<string, unknown>[]>`
      update debit_attempts a set status = 'sending', amount_minor = x.due_minor, updated_at = now()
      from unnest(${due.map((r) => r.customer_id.toString())}::bigint[], ${due.map((r) => r.id.toString())}::bigint[],
        ${due.map((r) => (r.due_minor as bigint).toString())}::bigint[]) as x(customer_id, id, due_minor),
        payment_cards c
      where a.customer_id = x.customer_id and a.id = x.id and c.customer_id = a.customer_id and c.id = a.card_id
      returning a.customer_id, a.id, a.loan_id, a.attempt_number, a.amount_minor, c.token_enc, a.card_id, a.status`;
    return claimedRows(sending.map((r) => ({ ...r, due_date: dueDateOf.get(`${r.customer_id}:${r.id}`) })));
  });
}

function claimedRows(rows: readonly Record<string, unknown>[]): ClaimedAttempt[] {
  return rows.map((r) => ({
    customerId: r.customer_id as bigint,
    id: r.id as bigint,
    loanId: r.loan_id as bigint,
    dueDate: r.due_date as string,
    attemptNumber: r.attempt_number as number,
    amountMinor: r.amount_minor as bigint,
    tokenEnc: r.token_enc as Uint8Array,
    cardId: r.card_id as bigint,
    status: r.status as 'sending' | 'unknown',
  }));
}

/** Attempts whose outcome is not known: timed out, or left `sending` by a worker that died. */
export async function unresolvedAttempts(sql: Sql, limit: number): Promise<ClaimedAttempt[]> {
  return claimedRows(
    await sql`
      select a.customer_id, a.id, a.loan_id, a.due_date::text as due_date, a.attempt_number, a.amount_minor,
        c.token_enc, a.card_id, a.status
      from debit_attempts a join payment_cards c on c.customer_id = a.customer_id and c.id = a.card_id
      where a.status = 'unknown'
         or (a.status = 'sending' and a.updated_at < now() - ${`${DEBIT_SENDING_STALE_MS} milliseconds`}::interval)
      order by a.updated_at limit ${Math.min(limit, DEBIT_CLAIM_MAX)}`,
  );
}

/** The gateway gave no answer: the outcome is resolved later by a status query. */
export async function markUnknown(sql: Sql, a: ClaimedAttempt): Promise<void> {
  await sql`update debit_attempts set status = 'unknown', updated_at = now()
    where customer_id = ${a.customerId} and id = ${a.id} and status = 'sending'`;
}

export type AppliedDebit = 'succeeded' | 'failed' | 'already';

/** Applies the bank's decision once (row lock + status), posting the repayment or the retry (from `now`). */
export async function applyDebitOutcome(
  sql: Sql,
  a: ClaimedAttempt,
  outcome: DebitOutcome,
  today: string,
  now: Date,
  sameDayRetryMs = DEBIT_SAME_DAY_RETRY_MS,
): Promise<AppliedDebit> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ status: string }[]>`
      select status from debit_attempts where customer_id = ${a.customerId} and id = ${a.id} for update`;
    if (!row || (row.status !== 'sending' && row.status !== 'unknown')) return 'already';
    if (outcome.status === 'succeeded') {
      const repaymentId = await postDebitRepayment(tx, a, today);
      await tx`update debit_attempts set status = 'succeeded', repayment_id = ${repaymentId},
          failure_reason = ${repaymentId === null ? 'unapplied_loan_closed' : null}, updated_at = now()
        where customer_id = ${a.customerId} and id = ${a.id}`;
      return 'succeeded';
    }
    const next = nextDebitAttempt(a.dueDate, a.attemptNumber, sameDayRetryMs);
    await tx`update debit_attempts set status = 'failed', failure_reason = ${outcome.reason}, updated_at = now()
      where customer_id = ${a.customerId} and id = ${a.id}`;
    if (next) {
      await tx`
        insert into debit_attempts (customer_id, loan_id, due_date, attempt_number, card_id, status, run_date, not_before)
        values (${a.customerId}, ${a.loanId}, ${a.dueDate}, ${next.attemptNumber}, ${a.cardId}, 'scheduled',
          ${next.runDate}, ${new Date(now.getTime() + next.delayMs)})
        on conflict do nothing`;
    }
    await emitEvents(tx, [
      domainEvent('debit.failed', a.customerId, `debit:${a.id}`, {
        attempt_id: a.id.toString(),
        loan_id: a.loanId.toString(),
        amount_minor: a.amountMinor.toString(),
        reason: outcome.reason,
        final: next === null,
      }),
    ]);
    return 'failed';
  });
}

/**
 * The money taken posts as a repayment through the one repayment path, in this transaction; a loan
 * closed meanwhile (paid by hand) refuses it, and the attempt records that the cash is unapplied.
 */
async function postDebitRepayment(
  tx: TransactionSql,
  a: ClaimedAttempt,
  today: string,
): Promise<bigint | null> {
  try {
    const r = await tx.savepoint((sp) =>
      applyRepayment(sp, {
        loanId: a.loanId,
        amountMinor: a.amountMinor,
        businessDate: today,
        overpayment: 'credit_balance',
      }),
    );
    return r.id;
  } catch (err) {
    if (err instanceof Refusal) return null;
    throw err;
  }
}
