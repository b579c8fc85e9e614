import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ONE_DATABASE_KEY, routingGroups } from '../../src/store/customer-routing.ts';

test('customers of one routing key share one lock statement, in id order', () => {
  const keys = new Map([3n, 1n, 2n].map((id) => [id, ONE_DATABASE_KEY]));
  assert.deepEqual(routingGroups([3n, 1n, 2n, 1n], keys), [[1n, 2n, 3n]]);
});

test('every batch locks in one order: by key, then by customer, whatever order its orders came in', () => {
  const keys = new Map<bigint, string>([
    [10n, 'shard:7'],
    [20n, 'shard:5'],
    [30n, 'shard:7'],
    [40n, 'shard:5'],
  ]);
  const expected = [
    [20n, 40n],
    [10n, 30n],
  ];
  assert.deepEqual(routingGroups([10n, 20n, 30n, 40n], keys), expected);
  assert.deepEqual(routingGroups([40n, 30n, 20n, 10n], keys), expected);
});

test('a customer without a routing key is locked by a statement of its own', () => {
  const keys = new Map([[1n, 'shard:1']]);
  assert.deepEqual(routingGroups([5n, 1n, 4n]), [[1n], [4n], [5n]]);
  assert.deepEqual(routingGroups([5n, 1n, 4n], keys), [[1n], [4n], [5n]]);
  assert.deepEqual(routingGroups([4n, 6n, 1n, 5n], new Map([...keys, [6n, 'shard:1']])), [
    [1n, 6n],
    [4n],
    [5n],
  ]);
});
