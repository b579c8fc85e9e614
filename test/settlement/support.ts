/**
 * Support for the settlement and statement tests: a scenario lab (servicing's: real PostgreSQL, one
 * API, a manual business clock), merchants made through the API (so they have a real API key),
 * orders placed as a customer does, and a close of business that runs the settlement and statement
 * steps through the payout rail the test holds.
 */
import assert from 'node:assert/strict';
import { runCob } from '../../src/cob/run.ts';
import { closeOfBusinessSteps } from '../../src/cob/steps.ts';
import type { PayoutRail } from '../../src/payments/payouts.ts';
import { insertTestProduct, testProductInput } from '../cob/fixtures.ts';
import { call, createCustomer, startLab } from '../lending/fixtures.ts';
import type { Scenario } from '../servicing/support.ts';

export interface TestMerchant {
  id: bigint;
  apiKey: string;
}

export async function merchantWithKey(s: Scenario, name: string): Promise<TestMerchant> {
  const r = await call(s.lab, 'POST', '/v1/merchants', { token: s.ops, body: { name } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: BigInt(r.body.id), apiKey: r.body.api_key };
}

export async function goodsOf(s: Scenario, merchant: TestMerchant, price: string): Promise<string> {
  const r = await call(s.lab, 'POST', `/v1/merchants/${merchant.id}/goods`, {
    token: s.ops,
    body: { sku: `SKU-${Math.random().toString(36).slice(2)}`, name: 'Goods', price },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

export interface PlacedOrder {
  orderId: string;
  customerId: bigint;
  token: string;
}

/** A new customer buys the goods on the scenario's product (6 monthly installments). */
export async function order(s: Scenario, goodsId: string, customerId?: bigint): Promise<PlacedOrder> {
  const sql = s.lab.platform.db.sql;
  const id = customerId ?? (await createCustomer(sql, 10_000_000n));
  const token = s.lab.token('customer', id);
  const r = await call(s.lab, 'POST', '/v1/orders', {
    token,
    key: `o-${goodsId}-${id}-${Math.random().toString(36).slice(2)}`,
    body: { goods_id: goodsId, product_id: s.productId.toString(), tenor: 6 },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { orderId: r.body.id, customerId: id, token };
}

/** Closes `date` as `fenqi cob --date` does on a manual clock, with the settlement and statement steps. */
export async function closeWithSteps(s: Scenario, date: string, rail: PayoutRail) {
  const sql = s.lab.platform.db.sql;
  return runCob(sql, {
    date,
    force: true,
    onProgress: () => {},
    steps: closeOfBusinessSteps({ sql, payouts: () => rail, config: s.lab.platform.config }),
  });
}

export async function accountBalance(s: Scenario, account: string): Promise<bigint> {
  const [row] = await s.lab.platform.db.sql<{ b: bigint }[]>`
    select coalesce(sum(debit_minor - credit_minor), 0)::bigint as b from journal_lines where account_code = ${account}`;
  return row!.b;
}

/** servicing's scenario lab with more settings (e.g. FENQI_STATEMENT_CYCLE_DAY). */
export async function startWith(
  product: Record<string, unknown>,
  env: Record<string, string>,
): Promise<Scenario> {
  const lab = await startLab(10, { FENQI_BUSINESS_CLOCK: 'manual', ...env });
  const { id } = await insertTestProduct(lab.platform.db.sql, testProductInput(product));
  const [staff] = await lab.platform.db.sql<{ id: bigint }[]>`
    insert into staff (username, role, password_hash) values ('settlement-ops', 'ops', 'x') returning id`;
  return { lab, productId: id, ops: lab.token('ops', staff!.id) };
}

/** A goods product with round numbers: 0% interest, 6 monthly installments, a 10.00 late fee, no grace. */
export const ROUND_PRODUCT = {
  code: 'SETTLE-GOODS',
  kind: 'goods',
  tenors: [6],
  rateBp: 0,
  method: 'equal-principal',
  every: 1,
  unit: 'month',
  graceDays: 0,
  minPrincipalMinor: '1000',
  maxPrincipalMinor: '100000000',
  lateFee: { fixedMinor: '1000', bpPerDay: 0, capMinor: null },
};
