/**
 * A seeded random workload of thousands of operations across many customers (orders, cash loans
 * through a failing and timing-out gateway, partial, exact and early repayments, freezes), driven
 * straight through the store with pooled connections; then `fenqi ledger check` as a child process
 * must pass and every line's used amount must equal its open loans' principal.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { todayUtc } from '../../src/domain/index.ts';
import { SimulatedGateway } from '../../src/payments/gateway.ts';
import { setCreditLine } from '../../src/store/credit-lines.ts';
import { openCashLoan, settleDisbursement } from '../../src/store/disbursements.ts';
import { getLoan } from '../../src/store/loans.ts';
import { settleOrder } from '../../src/store/orders.ts';
import { Refusal } from '../../src/store/refusal.ts';
import { applyRepayment, quotePayoff } from '../../src/store/repayments.ts';
import { createCustomer, createGoods, type Lab, startLab } from './fixtures.ts';

const OPERATIONS = Number(process.env.FENQI_WORKLOAD_OPS ?? 2000);
const CUSTOMERS = 40;
const CLIENTS = 8;

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('random workload keeps the books', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab(CLIENTS + 2);
  });
  after(async () => {
    await lab?.close();
  });

  test(`${OPERATIONS} seeded operations leave fenqi ledger check passing and every line equal to its open principal`, async () => {
    const sql = lab.platform.db.sql;
    const random = rng(20251111);
    const gateway = new SimulatedGateway({ seed: 11, failureRate: 0.2, timeoutRate: 0.15 });
    const date = todayUtc();
    const customers: bigint[] = [];
    for (let i = 0; i < CUSTOMERS; i++)
      customers.push(await createCustomer(sql, BigInt(200_000 + Math.floor(random() * 3_000_000))));
    const goods: bigint[] = [];
    for (const price of [15_000n, 99_900n, 250_000n, 600_000n])
      goods.push((await createGoods(sql, price)).goodsId);
    const tally = new Map<string, number>();
    const count = (what: string) => tally.set(what, (tally.get(what) ?? 0) + 1);
    let next = 0;
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;

    const one = async (n: number) => {
      const customerId = pick(customers);
      const r = random();
      try {
        if (r < 0.35) {
          const out = await sql.begin((tx) =>
            settleOrder(tx, {
              customerId,
              goodsId: pick(goods),
              productId: lab.goodsProductId,
              tenor: pick([3, 6, 12, 24]),
              idempotencyKey: `w-${n % 1900}`, // some keys repeat: a redelivery
              businessDate: date,
            }),
          );
          count(`order_${out.status}${out.replay ? '_replay' : ''}`);
        } else if (r < 0.5) {
          const pending = await sql.begin((tx) =>
            openCashLoan(tx, {
              customerId,
              productId: lab.cashProductId,
              amountMinor: BigInt(10_000 + Math.floor(random() * 300_000)),
              tenor: pick([3, 6, 12]),
              businessDate: date,
            }),
          );
          const state = await settleDisbursement(sql, gateway, pending.loanId, date, 'send');
          count(`cash_${state}`);
        } else if (r < 0.93) {
          const [loan] = await sql<{ id: bigint }[]>`
            select id from loans where customer_id = ${customerId} and status = 'active' order by random() limit 1`;
          if (!loan) return count('repay_nothing');
          const full = await getLoan(sql, loan.id);
          const payoff = await quotePayoff(sql, full!, date);
          const kind = random();
          const amount =
            kind < 0.6
              ? BigInt(1 + Math.floor(random() * Number(payoff.totalMinor)))
              : kind < 0.85
                ? payoff.totalMinor
                : payoff.totalMinor + BigInt(Math.floor(random() * 5000));
          await sql.begin((tx) =>
            applyRepayment(tx, {
              loanId: loan.id,
              amountMinor: amount,
              businessDate: date,
              overpayment: 'credit_balance',
            }),
          );
          count(kind < 0.6 ? 'repay_partial' : 'repay_payoff');
        } else if (r < 0.96) {
          await sql.begin((tx) =>
            setCreditLine(tx, customerId, { status: random() < 0.5 ? 'frozen' : 'active' }),
          );
          count('freeze_toggle');
        } else {
          // Reconcile every pending disbursement, as an ops sweep would.
          const pending = await sql<
            { loan_id: bigint }[]
          >`select loan_id from disbursements where status = 'pending'`;
          for (const p of pending) await settleDisbursement(sql, gateway, p.loan_id, date, 'reconcile');
          count('reconcile_sweep');
        }
      } catch (err) {
        if (err instanceof Refusal) return count(`refused_${err.code}`);
        if ((err as { code?: string }).code && /^[A-Z_]+$/.test((err as { code: string }).code))
          return count(`refused_${(err as { code: string }).code}`);
        throw err;
      }
    };
    const worker = async () => {
      while (next < OPERATIONS) await one(next++);
    };
    await Promise.all(Array.from({ length: CLIENTS }, worker));
    const pending = await sql<
      { loan_id: bigint }[]
    >`select loan_id from disbursements where status = 'pending'`;
    for (const p of pending) await settleDisbursement(sql, gateway, p.loan_id, date, 'reconcile');
    process.stdout.write(`# workload: ${JSON.stringify(Object.fromEntries([...tally].sort()))}\n`);
    assert.ok((tally.get('order_settled') ?? 0) > 100);
    assert.ok((tally.get('cash_failed') ?? 0) > 0 && (tally.get('cash_succeeded') ?? 0) > 0);

    const root = path.resolve(import.meta.dirname, '../..');
    const { stdout } = await promisify(execFile)(
      path.join(root, 'bin/fenqi'),
      ['ledger', 'check', '--json'],
      {
        cwd: root,
        env: { ...process.env, ...lab.pg.keys, DATABASE_URL: lab.pg.url, LOG_LEVEL: 'silent' },
      },
    );
    const report = JSON.parse(stdout);
    assert.equal(report.ok, true, stdout.slice(0, 2000));
    assert.equal(report.totalDebitsMinor, report.totalCreditsMinor);
    assert.ok(report.loansChecked > 100);
    const [lines] = await sql<{ bad: bigint }[]>`
      select count(*)::bigint as bad from credit_lines c
      where c.used_minor <> (select coalesce(sum(i.principal_minor - i.paid_principal_minor), 0) from installments i
        join loans l on l.customer_id = i.customer_id and l.id = i.loan_id
        where l.customer_id = c.customer_id and l.status in ('pending_disbursement', 'active'))`;
    assert.equal(lines!.bad, 0n);
    // And the CLI fails when the books are wrong: a receivable nudged behind the ledger's back.
    // (found first, then changed through its customer: on Citus an UPDATE routes by customer_id)
    const [nudged] = await sql<{ customer_id: bigint; loan_id: bigint; number: number }[]>`
      select i.customer_id, i.loan_id, i.number from installments i
      join loans l on l.customer_id = i.customer_id and l.id = i.loan_id
      where l.status = 'active' and i.status = 'due' and i.principal_minor > i.paid_principal_minor limit 1`;
    assert.ok(nudged, 'an active loan has an installment still due');
    await sql`update installments set paid_principal_minor = paid_principal_minor + 1
      where customer_id = ${nudged.customer_id} and loan_id = ${nudged.loan_id} and number = ${nudged.number}`;
    const failed = await promisify(execFile)(path.join(root, 'bin/fenqi'), ['ledger', 'check'], {
      cwd: root,
      env: { ...process.env, ...lab.pg.keys, DATABASE_URL: lab.pg.url, LOG_LEVEL: 'silent' },
    }).then(
      () => ({ code: 0, stdout: '' }),
      (err: { code: number; stdout: string }) => err,
    );
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /ledger check: FAILED/);
  });
});
