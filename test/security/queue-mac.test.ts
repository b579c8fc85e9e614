/**
 * Issue 14 finding 1 and item 2: nothing read from the queue authorizes anything. A raw publish on
 * the orders subject (forged: no MAC, or a MAC under a key fenqi does not hold) and a genuine
 * message with one field changed (altered) are dead-lettered with a plain reason and book nothing,
 * against real NATS JetStream, PostgreSQL and Redis; genuine orders still settle, also those signed
 * under the previous key while a new one rolls out.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { signAccessToken } from '../../src/api/auth.ts';
import { type Api, buildApi } from '../../src/api/server.ts';
import { orderStatusKey } from '../../src/cache/keys.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { DeadLetters, UNVERIFIED_DEAD_ORDERS_SUBJECT } from '../../src/orders/dead-letters.ts';
import {
  encodeOrderMessage,
  type OrderMessage,
  orderMessage,
  orderMessageId,
} from '../../src/orders/message.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import { DEAD_LETTER_STREAM, ORDER_SETTLER, ORDERS_STREAM, ORDERS_SUBJECT } from '../../src/queue/index.ts';
import { macProblem, signBody } from '../../src/queue/mac.ts';
import { type OrderSettler, startOrderSettler } from '../../src/workers/order-settler.ts';
import {
  GOODS_PRICE_MINOR,
  SECRETS,
  type Seed,
  type Servers,
  seed,
  startServers,
  TENOR,
} from '../flash/lab.ts';
import { tempDir, waitFor } from '../harness/process.ts';

const SETTLE_TIMEOUT_MS = 30_000;
const key = () => randomBytes(32);

describe('queue message MAC (no servers)', () => {
  const body = { v: 1, order_id: '7', customer_id: '42', tenor: 12 };

  test('a message signed under the previous key still verifies while the newest key signs', () => {
    const [k1, k2] = [key(), key()];
    const old = signBody(new Map([[1, k1]]), 'order', body);
    const rolled = new Map([
      [1, k1],
      [2, k2],
    ]);
    assert.equal(macProblem(rolled, 'order', old), undefined);
    const fresh = signBody(rolled, 'order', body);
    assert.match(fresh.mac, /^2:/, 'the highest key id signs');
    assert.match(
      macProblem(new Map([[2, k2]]), 'order', old)!,
      /key id 1/,
      'a dropped key no longer verifies',
    );
  });

  test('the MAC covers every field, whatever order the keys are spelled in', () => {
    const keys = new Map([[1, key()]]);
    const signed = signBody(keys, 'order', body);
    const reordered = JSON.parse(
      JSON.stringify({ mac: signed.mac, tenor: 12, customer_id: '42', order_id: '7', v: 1 }),
    );
    assert.equal(macProblem(keys, 'order', reordered), undefined);
    assert.match(macProblem(keys, 'order', { ...signed, customer_id: '43' })!, /forged or altered/);
    assert.match(macProblem(keys, 'order', { ...signed, extra: 'x' })!, /forged or altered/);
    assert.match(macProblem(keys, 'order', { ...body })!, /MAC missing/);
  });
});

describe('forged and altered order messages are dead-lettered and book nothing (real NATS, PostgreSQL, Redis)', () => {
  let servers: Servers;
  let platform: Platform;
  let app: Api;
  let settler: OrderSettler;
  let data: Seed;

  const usedOf = async (customerId: bigint) =>
    (
      await platform.db.sql<{ used_minor: bigint }[]>`
      select used_minor from credit_lines where customer_id = ${customerId}`
    )[0]!.used_minor;
  const counts = async (customerId: bigint) =>
    (
      await platform.db.sql<{ orders: bigint; loans: bigint }[]>`
      select (select count(*) from orders where customer_id = ${customerId})::bigint as orders,
             (select count(*) from loans where customer_id = ${customerId})::bigint as loans`
    )[0]!;
  const deadLetters = async () =>
    (await platform.queue.list(DEAD_LETTER_STREAM, { max: 100 })).map((m) => ({
      ...(JSON.parse(Buffer.from(m.data).toString('utf8')) as { reason: string; data: string }),
      deadSubject: m.subject,
      seq: m.seq,
    }));
  const drained = () =>
    waitFor(
      'the orders stream drained',
      async () => (await platform.queue.pending(ORDERS_STREAM, ORDER_SETTLER)) === 0,
      SETTLE_TIMEOUT_MS,
    );

  /** A well-formed order message for `customerId`, as the intake would write it (unsigned). */
  const messageFor = (customerId: bigint, n: number): OrderMessage =>
    orderMessage({
      orderId: String(9_000_000 + n),
      customerId: customerId.toString(),
      goodsId: data.goodsId.toString(),
      productId: data.productId.toString(),
      tenor: TENOR,
      key: `forged-${n}`,
      hash: 'ab'.repeat(32),
      businessDate: '2026-12-04',
      merchantId: 1n,
      priceMinor: GOODS_PRICE_MINOR,
      acceptedAt: new Date().toISOString(),
    });
  const publish = (m: OrderMessage, bytes: Buffer) =>
    platform.queue.publish(ORDERS_SUBJECT, bytes, { msgId: orderMessageId(m.customer_id, m.key) });

  before(async () => {
    servers = await startServers();
    const config = loadConfig({
      ...servers.pg.env(),
      ...servers.redis.env(),
      ...servers.nats.env(),
      FENQI_SALE_MODE: 'true',
      FENQI_DATA_DIR: tempDir('queue-mac'),
      LOG_LEVEL: 'silent',
      ...SECRETS,
    });
    platform = await openPlatform(config, createLogger('silent'));
    data = await seed(platform.db.sql, 5);
    app = await buildApi(platform);
    await app.ready();
    settler = await startOrderSettler(platform);
  });
  after(async () => {
    await settler?.stop();
    await app?.close();
    await platform?.close();
    await servers?.destroy();
  });

  test('a raw publish naming a victim, without a MAC, is dead-lettered as unverified; the victim has no order, no loan, no used credit', async () => {
    const victim = data.customers[0]!;
    const forged = messageFor(victim, 1);
    await publish(forged, Buffer.from(JSON.stringify(forged)));
    await waitFor(
      'the forged message dead-lettered',
      async () => (await deadLetters()).length === 1,
      SETTLE_TIMEOUT_MS,
    );
    await drained();
    const [dead] = await deadLetters();
    assert.equal(dead!.deadSubject, UNVERIFIED_DEAD_ORDERS_SUBJECT);
    assert.match(dead!.reason, /^unverified order message: MAC missing/);
    assert.deepEqual(await counts(victim), { orders: 0n, loans: 0n });
    assert.equal(await usedOf(victim), 0n);
    assert.equal(await platform.cache.get(orderStatusKey(forged.order_id)), null, 'no status written for it');
  });

  test('a message signed with a key fenqi does not hold, and a genuine message with its customer changed, book nothing', async () => {
    const [attacker, victim] = [data.customers[1]!, data.customers[2]!];
    const ownKey = signBody(new Map([[1, key()]]), 'order', messageFor(victim, 2));
    await publish(ownKey, Buffer.from(JSON.stringify(ownKey)));
    const genuine = JSON.parse(
      encodeOrderMessage(platform.config.queueMacKeys, messageFor(attacker, 3)).toString('utf8'),
    ) as OrderMessage & { mac: string };
    const altered = { ...genuine, customer_id: victim.toString() };
    await publish(altered, Buffer.from(JSON.stringify(altered)));
    await waitFor('both dead-lettered', async () => (await deadLetters()).length === 3, SETTLE_TIMEOUT_MS);
    await drained();
    const reasons = (await deadLetters()).slice(1).map((d) => d.reason);
    assert.match(reasons[0]!, /^unverified order message: MAC does not match the message: forged or altered/);
    assert.match(reasons[1]!, /^unverified order message: MAC does not match the message: forged or altered/);
    assert.deepEqual(await counts(victim), { orders: 0n, loans: 0n });
    assert.equal(await usedOf(victim), 0n);
    assert.deepEqual(await counts(attacker), { orders: 0n, loans: 0n });
  });

  test('an order placed through the API (signed by the intake) settles: the check refuses only what fenqi did not make', async () => {
    const customer = data.customers[3]!;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: {
        authorization: `Bearer ${signAccessToken(platform.config.tokenSecret, { role: 'customer', id: customer }, 600)}`,
        'idempotency-key': 'genuine-1',
      },
      payload: { goods_id: data.goodsId.toString(), product_id: data.productId.toString(), tenor: TENOR },
    });
    assert.equal(res.statusCode, 202, res.body);
    await waitFor(
      'the genuine order settled',
      async () => (await counts(customer)).loans === 1n,
      SETTLE_TIMEOUT_MS,
    );
    assert.equal(await usedOf(customer), GOODS_PRICE_MINOR);
    assert.equal((await deadLetters()).length, 3, 'nothing more dead-lettered');
  });

  test('an order signed under a key the workers do not hold yet is dead-lettered, and settles once when replayed after they get it', async () => {
    const customer = data.customers[4]!;
    const newKey = key();
    const rolledOut = new Map([...platform.config.queueMacKeys, [2, newKey]]);
    const message = messageFor(customer, 5);
    await publish(message, encodeOrderMessage(rolledOut, message));
    await waitFor('dead-lettered', async () => (await deadLetters()).length === 4, SETTLE_TIMEOUT_MS);
    const dead = (await deadLetters())[3]!;
    assert.match(dead.reason, /MAC under key id 2, which FENQI_QUEUE_MAC_KEYS does not hold/);
    assert.deepEqual(await counts(customer), { orders: 0n, loans: 0n });

    platform.config.queueMacKeys.set(2, newKey); // the workers are given the new key
    const replayed = await new DeadLetters(platform.queue, createLogger('silent')).replay([dead.seq]);
    assert.equal(replayed.replayed, 1);
    await waitFor(
      'the replayed order settled',
      async () => (await counts(customer)).loans === 1n,
      SETTLE_TIMEOUT_MS,
    );
    assert.equal(await usedOf(customer), GOODS_PRICE_MINOR);
  });
});
