/** The order rule refuses new credit while a payment is late, with its own stable code. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkOrder, type OrderFacts } from '../../src/domain/orders.ts';

const facts = (daysPastDue: number | undefined): OrderFacts => ({
  tenor: 3,
  goods: { priceMinor: 89_900n, active: true, merchantStatus: 'active' },
  product: { kind: 'goods', tenors: [3, 6] },
  customerStatus: 'active',
  daysPastDue,
  line: { limitMinor: 2_000_000n, usedMinor: 0n, status: 'active' },
});

test('a customer with a loan past due cannot order: CUSTOMER_PAST_DUE names the days', () => {
  const check = checkOrder(facts(16));
  assert.equal(check.ok, false);
  assert.ok(!check.ok);
  assert.equal(check.code, 'CUSTOMER_PAST_DUE');
  assert.deepEqual(check.details, { days_past_due: '16' });
  assert.equal(check.unrecordable, false, 'the refused order is recorded with its reason');
});

test('a customer with nothing past due, or whose lateness is not known at intake, may order', () => {
  assert.equal(checkOrder(facts(0)).ok, true);
  assert.equal(checkOrder(facts(undefined)).ok, true);
});
