/**
 * Scenario support for the servicing tests, in the manner of Fineract's feature files: one API on
 * real PostgreSQL with a manual business clock, a goods product with round numbers, and steps
 * (set the date, order, repay, close) that read like the scenario tables they implement.
 */
import assert from 'node:assert/strict';
import { runCob } from '../../src/cob/run.ts';
import { checkLedger } from '../../src/store/ledger.ts';
import { insertTestProduct, testProductInput } from '../cob/fixtures.ts';
import { call, createCustomer, createGoods, type Lab, startLab } from '../lending/fixtures.ts';

export interface Scenario {
  lab: Lab;
  productId: bigint;
  ops: string;
}

/** 6 monthly installments of 100.00 on a 600.00 order: 0% interest, a 10.00 late fee, no grace. */
export const ROUND_GOODS = {
  code: 'SERV-GOODS',
  kind: 'goods',
  tenors: [6],
  rateBp: 0,
  method: 'equal-principal',
  every: 1,
  unit: 'month',
  graceDays: 0,
  lateFee: { fixedMinor: '1000', bpPerDay: 0, capMinor: null },
};

export async function startScenarios(product: Record<string, unknown> = ROUND_GOODS): Promise<Scenario> {
  const lab = await startLab(10, { FENQI_BUSINESS_CLOCK: 'manual' });
  const { id } = await insertTestProduct(lab.platform.db.sql, testProductInput(product));
  // staff tokens must name a staff account that exists
  const [staff] = await lab.platform.db.sql<{ id: bigint }[]>`
    insert into staff (username, role, password_hash) values ('servicing-ops', 'ops', 'x') returning id`;
  return { lab, productId: id, ops: lab.token('ops', staff!.id) };
}

export async function setBusinessDate(s: Scenario, date: string): Promise<void> {
  const r = await call(s.lab, 'PUT', '/v1/ops/business-date', { token: s.ops, body: { date } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

/** Closes `date` the way `fenqi cob --date` does on a manual clock (and moves the clock on). */
export async function closeDate(s: Scenario, date: string): Promise<void> {
  await runCob(s.lab.platform.db.sql, { date, force: true, onProgress: () => {} });
}

/** A customer buys goods at `priceMinor` on the product; the loan's id and the customer. */
export async function buy(
  s: Scenario,
  priceMinor: bigint,
  tenor = 6,
  productId = s.productId,
): Promise<{ loanId: bigint; customerId: bigint; merchantId: bigint; orderId: string; token: string }> {
  const sql = s.lab.platform.db.sql;
  const customerId = await createCustomer(sql, 1_000_000n);
  const { goodsId, merchantId } = await createGoods(sql, priceMinor);
  const token = s.lab.token('customer', customerId);
  const r = await call(s.lab, 'POST', '/v1/orders', {
    token,
    key: `buy-${customerId}`,
    body: { goods_id: goodsId.toString(), product_id: productId.toString(), tenor },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const [loan] = await sql<{ id: bigint }[]>`select id from loans where customer_id = ${customerId}`;
  return { loanId: loan!.id, customerId, merchantId, orderId: r.body.id, token };
}

export interface InstallmentLine {
  n: number;
  due: string;
  principal: bigint;
  paidPrincipal: bigint;
  penalty: bigint;
  paidPenalty: bigint;
  status: string;
}

export async function installments(s: Scenario, loanId: bigint): Promise<InstallmentLine[]> {
  const rows = await s.lab.platform.db.sql<
    {
      number: number;
      due_date: string;
      principal_minor: bigint;
      paid_principal_minor: bigint;
      penalty_minor: bigint;
      paid_penalty_minor: bigint;
      status: string;
    }[]
  >`select number, due_date::text, principal_minor, paid_principal_minor, penalty_minor, paid_penalty_minor, status
    from installments where loan_id = ${loanId} order by number`;
  return rows.map((r) => ({
    n: r.number,
    due: r.due_date,
    principal: r.principal_minor,
    paidPrincipal: r.paid_principal_minor,
    penalty: r.penalty_minor,
    paidPenalty: r.paid_penalty_minor,
    status: r.status,
  }));
}

export async function loanState(s: Scenario, loanId: bigint) {
  const [row] = await s.lab.platform.db.sql<
    { status: string; days_past_due: number; bucket: string; used_minor: bigint }[]
  >`select l.status, l.days_past_due, l.bucket, c.used_minor
    from loans l join credit_lines c on c.customer_id = l.customer_id where l.id = ${loanId}`;
  return row!;
}

/** `fenqi ledger check`: the books balance, every loan's sub-ledger matches its installments. */
export async function assertLedgerChecks(s: Scenario): Promise<void> {
  const check = await checkLedger(s.lab.platform.db.sql);
  assert.ok(check.ok, JSON.stringify({ ...check, accountBalances: undefined }));
}

export async function accountOfLoan(s: Scenario, loanId: bigint, account: string): Promise<bigint> {
  const [row] = await s.lab.platform.db.sql<{ b: bigint }[]>`
    select coalesce(sum(debit_minor - credit_minor), 0)::bigint as b from journal_lines
    where loan_id = ${loanId} and account_code = ${account}`;
  return row!.b;
}
