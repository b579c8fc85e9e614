/**
 * Redis Cluster runs a script or a multi-key command only when all its keys hash to one slot. These
 * check, without a server, that the keys each of fenqi's scripts touches together share one slot
 * (keys.ts), and that what spans owners is split into one call per slot (cluster-slots.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import calculateSlot from 'cluster-key-slot';
import fc from 'fast-check';
import { CACHE_PREFIX } from '../../src/cache/cache.ts';
import { groupBySlot, sharedSlot, slotOf } from '../../src/cache/cluster-slots.ts';
import {
  creditSummaryKey,
  keyTags,
  merchantApiKeyKey,
  orderIdempotencyKey,
  orderStatusKey,
  productGenerationKey,
  productListKey,
  rateLimitKey,
  taggedKey,
  velocityKey,
} from '../../src/cache/keys.ts';
import { rateWindow } from '../../src/cache/rate-limit.ts';

/** Velocity subjects are hex digests (blind indexes, `deviceKeyOf`), cut to 32 characters. */
const hexDigest = fc.uint8Array({ minLength: 1, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));

const customerRule = { name: 'orders-customer', limit: 10, windowMs: 1_000 };
const ipRule = { name: 'orders-ip', limit: 100, windowMs: 1_000 };

/** The keys of the sale-day intake's one front-door script for a customer (orders-queued.ts). */
function intakeCustomerKeys(customer: bigint, idempotencyKey: string, nowMs: number): string[] {
  return [
    rateWindow(customerRule, keyTags.customer(customer), nowMs).key,
    orderIdempotencyKey(customer, idempotencyKey),
    creditSummaryKey(customer),
  ];
}

describe('cache keys and Redis Cluster slots', () => {
  test('the intake script keys of one customer (rate counter, idempotency record, credit) share a slot', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
        fc.string(),
        fc.nat(),
        (customer, key, nowMs) => {
          assert.notEqual(sharedSlot(intakeCustomerKeys(customer, key, nowMs)), undefined);
        },
      ),
    );
  });

  test('a client-chosen idempotency key holding braces does not move the record off its customer slot', () => {
    for (const key of ['{x}', '}{', '{', 'a{b}c', '{c:1}']) {
      assert.equal(slotOf(orderIdempotencyKey(42n, key)), slotOf(creditSummaryKey(42n)), key);
    }
  });

  test('the intake front door splits into the customer script and the per-address counter, nothing more', () => {
    const keys = [...intakeCustomerKeys(7n, 'k', 0), rateWindow(ipRule, keyTags.address('10.0.0.1'), 0).key];
    const groups = groupBySlot(keys);
    // Rarely an address hashes to the customer's slot; then one script suffices.
    assert.ok(groups.length <= 2);
    assert.deepEqual(groups[0]!.slice(0, 3), [0, 1, 2]);
  });

  test('the velocity script keys of one subject (hour and day windows) share a slot', () => {
    fc.assert(
      fc.property(fc.constantFrom('phone', 'id', 'device'), hexDigest, (kind, subject) => {
        assert.notEqual(
          sharedSlot([velocityKey(kind, subject, 'h'), velocityKey(kind, subject, 'd')]),
          undefined,
        );
      }),
    );
  });

  test('rate limits, lockouts, merchant keys and catalogue keys each stay on their owner slot', () => {
    assert.notEqual(
      sharedSlot([
        rateLimitKey('quotes', keyTags.address('::1'), 1),
        rateLimitKey('quotes', keyTags.address('::1'), 2),
      ]),
      undefined,
    );
    assert.equal(slotOf(merchantApiKeyKey('cd')), calculateSlot(keyTags.merchantKey('cd')));
    assert.notEqual(
      sharedSlot([productGenerationKey(), productListKey(['1', 'active', 'any', 0, 20])]),
      undefined,
    );
  });

  test('an order status lives on its order slot, so a status poll that knows only the order finds it', () => {
    assert.equal(slotOf(orderStatusKey(99n)), calculateSlot(`{${keyTags.order(99n)}}`));
    assert.equal(slotOf(orderStatusKey(99n)), slotOf(orderStatusKey('99')));
  });

  test('the prefix fenqi: hashes with nothing: a key slot is its tag slot', () => {
    assert.equal(slotOf(creditSummaryKey(5n)), calculateSlot(`${CACHE_PREFIX}${creditSummaryKey(5n)}`));
    assert.equal(slotOf(creditSummaryKey(5n)), calculateSlot('{c:5}'));
  });

  test('grouping by slot puts every key in exactly one group whose keys all share a slot', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 40 }), (keys) => {
        const groups = groupBySlot(keys);
        assert.deepEqual(
          groups.flat().sort((a, b) => a - b),
          keys.map((_, i) => i),
        );
        for (const group of groups) assert.notEqual(sharedSlot(group.map((i) => keys[i]!)), undefined);
      }),
    );
  });

  test('a tag holding a brace or nothing is refused where the key is built', () => {
    assert.throws(() => taggedKey('c:{1}', 'x'), /braces/);
    assert.throws(() => taggedKey('', 'x'), /tag length/);
  });
});
