import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queuedOrderHash } from '../../src/api/routes/orders-queued.ts';
import { decodeJson, encodeJson } from '../../src/cache/cache-aside.ts';
import { decodeCreditSummary } from '../../src/orders/status.ts';
import { requestHash } from '../../src/store/idempotency.ts';

test('the intake request hash equals the synchronous path idempotency hash for the same body', () => {
  for (const body of [
    { goods_id: '1', product_id: '2', tenor: 3 },
    { tenor: 12, product_id: '9223372036854775807', goods_id: '0042' },
  ]) {
    assert.equal(queuedOrderHash(body), requestHash('POST', '/v1/orders', body).toString('hex'));
  }
});

test('a cached credit summary decodes to the same bigints as decodeJson, whatever wrote it', () => {
  const summary = { limitMinor: 1_000_000n, usedMinor: 12_000n, status: 'active' };
  assert.deepEqual(decodeCreditSummary(encodeJson(summary)), summary);
  const untagged = '{"limitMinor":5,"usedMinor":1,"status":"frozen"}';
  assert.deepEqual(decodeCreditSummary(untagged), decodeJson(untagged));
});
