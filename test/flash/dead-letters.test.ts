/**
 * Dead-lettered orders against real NATS JetStream, PostgreSQL and Redis: a poison order lands in
 * FENQI_DEAD with its reason and is listed for ops; its customer sees it `held` (never 404), also
 * once its cache entry is gone; once the cause is fixed, a replay settles it exactly once and empties
 * the stream, however many callers replay it and even when the order was settled meanwhile, and the
 * customer sees the outcome; nothing but ops may see or replay them. Dead letters from before
 * per-order subjects are still listed and replayed. The settler and the API run in this process on
 * the real servers; `fenqi orders dead` runs as the operator would run it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pino from 'pino';
import { signAccessToken } from '../../src/api/auth.ts';
import { type Api, buildApi } from '../../src/api/server.ts';
import { orderIdempotencyKey, orderStatusKey } from '../../src/cache/keys.ts';
import { loadConfig } from '../../src/config.ts';
import { DEAD_ORDERS_SUBJECT, type DeadLetterView, deadOrderSubject } from '../../src/orders/dead-letters.ts';
import { HELD_REASON } from '../../src/orders/status.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import {
  DEAD_LETTER_STREAM,
  ORDER_MAX_DELIVER,
  ORDER_SETTLER,
  ORDERS_STREAM,
  ORDERS_SUBJECT,
} from '../../src/queue/index.ts';
import { type JsonValue, signBody } from '../../src/queue/mac.ts';
import { openPostgres } from '../../src/store/db.ts';
import { type OrderSettler, startOrderSettler } from '../../src/workers/order-settler.ts';
import { tempDir, waitFor } from '../harness/process.ts';
import {
  FENQI_BIN,
  GOODS_PRICE_MINOR,
  ledgerCheck,
  SECRETS,
  type Seed,
  type Servers,
  seed,
  startServers,
  TENOR,
} from './lab.ts';

const run = promisify(execFile);
/** The "bad migration": a constraint that refuses some orders at settlement, dropped by the fix. */
const BLOCKING_CONSTRAINT = 'dead_letter_test_blocks_keys';
const SETTLE_TIMEOUT_MS = 30_000;
/** A client's attempts at one order while the API answers 503 (each after its Retry-After). */
const PLACE_ATTEMPTS_MAX = 10;

/** What GET /v1/ops/dead-letters lists: the worker's view, as JSON. */
type DeadItem = DeadLetterView;

describe('dead-lettered orders: listed with their reason, replayed exactly once', () => {
  let servers: Servers;
  let platform: Platform;
  let app: Api;
  let settler: OrderSettler;
  let data: Seed;
  const logLines: string[] = [];
  /** Order ids answered 202, by idempotency key. */
  const accepted = new Map<string, { orderId: string; customerId: bigint }>();

  const token = (role: 'customer' | 'merchant' | 'risk' | 'ops', id: bigint) =>
    signAccessToken(platform.config.tokenSecret, { role, id }, 3600);
  /** A staff user who exists: a replay is audited under its author. */
  let opsId = 1n;
  const ops = () => ({ authorization: `Bearer ${token('ops', opsId)}` });

  const call = async (
    method: 'GET' | 'POST',
    url: string,
    headers: Record<string, string>,
    body?: unknown,
  ) => {
    const res = await app.inject({ method, url, headers, payload: body as object | undefined });
    return { status: res.statusCode, body: JSON.parse(res.body) };
  };
  const deadLetters = async (): Promise<{ items: DeadItem[]; total: number; next_after: string | null }> => {
    const res = await call('GET', '/v1/ops/dead-letters', ops());
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  /** A message as a fenqi process makes it (with its MAC), whatever else is wrong with it. */
  const signed = (body: { [key: string]: JsonValue }) =>
    Buffer.from(JSON.stringify(signBody(platform.config.queueMacKeys, 'order', body)));
  const replay = (body: unknown) => call('POST', '/v1/ops/dead-letters/replay', ops(), body);
  /** GET /v1/orders/{id} as the order's customer. */
  const statusOf = (key: string) => {
    const { orderId, customerId } = accepted.get(key)!;
    return call('GET', `/v1/orders/${orderId}`, { authorization: `Bearer ${token('customer', customerId)}` });
  };
  const cachedStatus = async (key: string) => {
    const text = await platform.cache.get(orderStatusKey(accepted.get(key)!.orderId));
    return text === null ? null : (JSON.parse(text) as { status: string }).status;
  };
  /** The customer-facing held answer: the order as accepted, no loan, the stable reason, no internals. */
  const assertHeld = (res: { status: number; body: Record<string, unknown> }, key: string) => {
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'held');
    assert.equal(res.body.hold_reason, HELD_REASON);
    assert.equal(res.body.id, accepted.get(key)!.orderId);
    assert.equal(res.body.customer_id, accepted.get(key)!.customerId.toString());
    assert.deepEqual([res.body.reject_reason, res.body.loan_id, res.body.settled_at], [null, null, null]);
    assert.equal(res.body.goods_id, data.goodsId.toString());
    assert.equal(res.body.tenor, TENOR);
    assert.ok(!JSON.stringify(res.body).includes(BLOCKING_CONSTRAINT), 'no internal error text');
  };

  // As a client does: a 503 (the queue not reached yet on a busy machine, or overload) is retried
  // after its Retry-After with the same idempotency key, a bounded number of times.
  const placeOrder = async (customerId: bigint, key: string) => {
    const place = () =>
      call(
        'POST',
        '/v1/orders',
        { authorization: `Bearer ${token('customer', customerId)}`, 'idempotency-key': key },
        { goods_id: data.goodsId.toString(), product_id: data.productId.toString(), tenor: TENOR },
      );
    let res = await place();
    for (let attempt = 1; res.status === 503 && attempt < PLACE_ATTEMPTS_MAX; attempt++) {
      await sleep(Number(res.body.error?.details?.retry_after_s ?? 1) * 1000);
      res = await place();
    }
    assert.equal(res.status, 202, JSON.stringify(res.body));
    accepted.set(key, { orderId: res.body.order_id, customerId });
    return res.body.order_id as string;
  };

  const ordersOf = async (customerId: bigint, key: string) =>
    platform.db.sql<{ id: bigint; status: string; loan_id: bigint | null }[]>`
      select id, status, loan_id from orders where customer_id = ${customerId} and idempotency_key = ${key}`;

  const loansOf = async (customerId: bigint) =>
    Number(
      (
        await platform.db.sql<
          { n: bigint }[]
        >`select count(*)::bigint as n from loans where customer_id = ${customerId}`
      )[0]!.n,
    );

  const waitStored = (customerId: bigint, key: string) =>
    waitFor(
      `order ${key} stored`,
      async () => (await ordersOf(customerId, key)).length > 0,
      SETTLE_TIMEOUT_MS,
    );

  /** Every order message handed to the settler so far has been settled, dead-lettered or acked. */
  const waitQueueDrained = () =>
    waitFor(
      'the orders stream drained',
      async () => (await platform.queue.pending(ORDERS_STREAM, ORDER_SETTLER)) === 0,
      SETTLE_TIMEOUT_MS,
    );

  /** Schema changes for a test's fault are the owner's: the platform's role may only write rows. */
  const asOwner = async (statement: string) => {
    const owner = openPostgres(servers.pg.url, { max: 1, onnotice: () => {} });
    await owner.unsafe(statement).finally(() => owner.end());
  };

  const cli = async (...args: string[]) => {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...servers.nats.env(),
      LOG_LEVEL: 'info',
      FENQI_DATA_DIR: tempDir('dead-letters-cli'),
      ...SECRETS,
    };
    return run(FENQI_BIN, ['orders', 'dead', ...args], { env, encoding: 'utf8' });
  };

  before(async () => {
    servers = await startServers();
    const config = loadConfig({
      ...servers.pg.env(),
      ...servers.redis.env(),
      ...servers.nats.env(),
      FENQI_SALE_MODE: 'true',
      FENQI_DATA_DIR: tempDir('dead-letters'),
      LOG_LEVEL: 'info',
      ...SECRETS,
    });
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, done) {
          logLines.push(...chunk.toString().split('\n').filter(Boolean));
          done();
        },
      }),
    );
    platform = await openPlatform(config, logger);
    data = await seed(platform.db.sql, 6);
    const [staff] = await platform.db.sql<{ id: bigint }[]>`
      insert into staff (username, role, password_hash) values ('ops-replayer', 'ops', 'x') returning id`;
    opsId = staff!.id;
    await asOwner(
      `alter table orders add constraint ${BLOCKING_CONSTRAINT} check (idempotency_key not like 'blocked-%') not valid`,
    );
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

  test('an order the database refuses at settlement lands in FENQI_DEAD, ops see it with its reason and no personal data, and /metrics counts it', async () => {
    const [c0, c1, c2, c3] = data.customers;
    await placeOrder(c0!, 'ok-1');
    await placeOrder(c1!, 'blocked-1');
    await placeOrder(c2!, 'ok-2');
    await placeOrder(c3!, 'blocked-2');
    await waitStored(c0!, 'ok-1');
    await waitStored(c2!, 'ok-2');
    await waitFor('two dead letters', async () => (await deadLetters()).total === 2, SETTLE_TIMEOUT_MS);

    const list = await deadLetters();
    assert.equal(list.next_after, null);
    assert.deepEqual(
      list.items.map((d) => [d.order_id, d.customer_id, d.deliveries, d.replayable]),
      [
        [accepted.get('blocked-1')!.orderId, c1!.toString(), 1, true],
        [accepted.get('blocked-2')!.orderId, c3!.toString(), 1, true],
      ],
    );
    for (const item of list.items) {
      assert.match(item.reason, new RegExp(`settlement failed: .*${BLOCKING_CONSTRAINT}`));
      assert.ok(Math.abs(Date.parse(item.dead_lettered_at) - Date.now()) < 120_000);
      assert.deepEqual(Object.keys(item).sort(), [
        'customer_id',
        'dead_lettered_at',
        'deliveries',
        'order_id',
        'reason',
        'replayable',
        'seq',
      ]);
    }
    assert.equal((await ordersOf(c1!, 'blocked-1')).length, 0, 'nothing stored for a dead-lettered order');

    // Paged by stream sequence: one per page, then the last page says so.
    const first = await call('GET', '/v1/ops/dead-letters?limit=1', ops());
    assert.equal(first.body.items.length, 1);
    assert.equal(first.body.next_after, first.body.items[0].seq);
    const second = await call('GET', `/v1/ops/dead-letters?limit=1&after=${first.body.next_after}`, ops());
    assert.deepEqual(second.body.items, [list.items[1]]);

    // Each on its own subject, so the status read finds it by order id.
    const dead = await platform.queue.lastBySubject(
      DEAD_LETTER_STREAM,
      deadOrderSubject(accepted.get('blocked-1')!.orderId),
    );
    assert.equal(String(dead?.seq), list.items[0]!.seq);

    // what an operator alerts on: the dead-letter count in /metrics
    const metrics = await app.inject('/metrics');
    assert.match(metrics.body, /fenqi_queue_stream_messages\{stream="FENQI_DEAD"\} 2\n/);
  });

  test('the customer of a dead-lettered order sees it held, with a stable reason and no internals, instead of accepted', async () => {
    await settler.flushed();
    assertHeld(await statusOf('blocked-1'), 'blocked-1');
    assertHeld(await statusOf('blocked-2'), 'blocked-2');
    assert.equal(
      await cachedStatus('blocked-1'),
      'held',
      'the settler wrote it when it dead-lettered the order',
    );
    assert.equal((await statusOf('ok-1')).body.status, 'settled');
    assert.equal((await statusOf('ok-1')).body.hold_reason, null);
    // Staff see it too; another customer does not learn it exists.
    const asOps = await call('GET', `/v1/orders/${accepted.get('blocked-1')!.orderId}`, ops());
    assert.equal(asOps.body.status, 'held');
    const other = await call('GET', `/v1/orders/${accepted.get('blocked-1')!.orderId}`, {
      authorization: `Bearer ${token('customer', data.customers[0]!)}`,
    });
    assert.equal(other.status, 404);
  });

  test('a held order still reads held once its cache entry is gone: found in FENQI_DEAD by a direct lookup', async () => {
    // The cache entry expiring (or evicted, or Redis flushed): simulated by deleting it.
    await platform.cache.del(orderStatusKey(accepted.get('blocked-1')!.orderId));
    assert.equal(await cachedStatus('blocked-1'), null);
    const fromStream = await statusOf('blocked-1');
    assertHeld(fromStream, 'blocked-1');
    assert.equal(
      await cachedStatus('blocked-1'),
      'held',
      'written back, so polling does not ask NATS each time',
    );
    await platform.cache.del(orderStatusKey(accepted.get('blocked-1')!.orderId));
    const asMerchant = await call('GET', `/v1/orders/${accepted.get('blocked-1')!.orderId}`, {
      authorization: `Bearer ${token('merchant', BigInt(fromStream.body.merchant_id))}`,
    });
    assert.equal(asMerchant.body.status, 'held');
    // An id that was never an order is still 404.
    const never = await call('GET', '/v1/orders/12345', { authorization: `Bearer ${token('ops', 1n)}` });
    assert.equal(never.status, 404);
  });

  test('only ops may list or replay dead letters: 401 without a token, 403 for customers, merchants and risk', async () => {
    for (const [headers, status, code] of [
      [{}, 401, 'UNAUTHORIZED'],
      [{ authorization: `Bearer ${token('customer', data.customers[1]!)}` }, 403, 'FORBIDDEN'],
      [{ authorization: `Bearer ${token('merchant', 1n)}` }, 403, 'FORBIDDEN'],
      [{ authorization: `Bearer ${token('risk', 1n)}` }, 403, 'FORBIDDEN'],
    ] as const) {
      const listed = await call('GET', '/v1/ops/dead-letters', headers);
      assert.equal(listed.status, status);
      assert.equal(listed.body.error.code, code);
      const replayed = await call('POST', '/v1/ops/dead-letters/replay', headers, { all: true });
      assert.equal(replayed.status, status);
      assert.equal(replayed.body.error.code, code);
    }
    for (const [body, code] of [
      [{}, 'REPLAY_TARGET_REQUIRED'],
      [{ all: false }, 'REPLAY_TARGET_REQUIRED'],
      [{ all: true, seqs: ['1'] }, 'REPLAY_TARGET_CONFLICT'],
      [{ seqs: [] }, 'VALIDATION_FAILED'],
      [{ seqs: ['-1'] }, 'VALIDATION_FAILED'],
    ] as const) {
      const res = await replay(body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error.code, code);
    }
    assert.equal((await deadLetters()).total, 2, 'refused requests replayed nothing');
  });

  test('after the cause is fixed, two callers replaying the same dead letter at once settle it exactly once', async () => {
    await asOwner(`alter table orders drop constraint ${BLOCKING_CONSTRAINT}`);
    const customer = accepted.get('blocked-1')!.customerId;
    const dead = (await deadLetters()).items.find((d) => d.order_id === accepted.get('blocked-1')!.orderId)!;

    const answers = await Promise.all([replay({ seqs: [dead.seq] }), replay({ seqs: [dead.seq, dead.seq] })]);
    for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(
      answers[0]!.body.replayed + answers[1]!.body.replayed,
      1,
      'counted once between the callers',
    );
    assert.equal(answers[0]!.body.not_found + answers[1]!.body.not_found, 1);
    const replaySeqs = new Set(answers.map((a) => a.body.items[0].replay_seq));
    assert.equal(replaySeqs.size, 1, 'both publishes are one message in FENQI_ORDERS');

    await waitStored(customer, 'blocked-1');
    await waitQueueDrained();
    const again = await replay({ seqs: [dead.seq] });
    assert.equal(again.body.replayed, 0);
    assert.equal(again.body.not_found, 1);

    const stored = await ordersOf(customer, 'blocked-1');
    assert.equal(stored.length, 1);
    assert.equal(
      stored[0]!.id.toString(),
      accepted.get('blocked-1')!.orderId,
      'settled under its original id',
    );
    assert.equal(stored[0]!.status, 'settled');
    assert.equal(await loansOf(customer), 1);
    await settler.flushed();
    const status = await statusOf('blocked-1');
    assert.equal(status.body.status, 'settled');
    assert.equal(status.body.hold_reason, null);
    assert.equal(status.body.loan_id, stored[0]!.loan_id!.toString());
    // A held entry left in the cache (the settler's final write lost) never shadows the database.
    const heldEntry = {
      ...status.body,
      status: 'held',
      hold_reason: HELD_REASON,
      loan_id: null,
      settled_at: null,
    };
    await platform.cache.set(orderStatusKey(status.body.id), JSON.stringify(heldEntry), 60_000);
    assert.equal((await statusOf('blocked-1')).body.status, 'settled');
    assert.equal(await cachedStatus('blocked-1'), 'settled', 'the stored answer is cached over it');

    const left = await deadLetters();
    assert.deepEqual(
      left.items.map((d) => d.order_id),
      [accepted.get('blocked-2')!.orderId],
    );
    const logged = logLines.filter((l) => l.includes('dead-lettered order replayed'));
    assert.equal(logged.length, 2, 'each caller logged what it did');
    for (const line of logged) {
      const entry = JSON.parse(line);
      assert.equal(entry.deadSeq, Number(dead.seq));
      assert.equal(entry.orderId, accepted.get('blocked-1')!.orderId);
      assert.ok(!line.includes('blocked-1') && !line.includes('reason'), 'ids only, no key, no reason');
    }
  });

  test('replaying an order that was settled meanwhile (fenqi orders dead replay --all) does not settle it twice', async () => {
    const { orderId, customerId } = accepted.get('blocked-2')!;
    // Settled by another path meanwhile: the original order message sent again under another id.
    const [dead] = await platform.queue.list(DEAD_LETTER_STREAM, { max: 1 });
    const original = JSON.parse(Buffer.from(dead!.data).toString('utf8')).data as string;
    await platform.queue.publish(ORDERS_SUBJECT, Buffer.from(original), { msgId: 'settled-meanwhile' });
    await waitStored(customerId, 'blocked-2');
    await waitQueueDrained();
    const replayedBefore = settler.stats.replayed;
    const usedBefore = (
      await platform.db.sql<{ used_minor: bigint }[]>`
      select used_minor from credit_lines where customer_id = ${customerId}`
    )[0]!.used_minor;

    const listed = await cli('list', '--json');
    assert.deepEqual(
      JSON.parse(listed.stdout).items.map((d: DeadItem) => d.order_id),
      [orderId],
    );
    const replayed = await cli('replay', '--all');
    assert.match(replayed.stdout, /replayed 1, not found 0, not replayable 0/);
    assert.match(replayed.stderr, /replayed 1\/1 dead letters \(100%\), 0 skipped/);
    assert.match(replayed.stderr, /dead-lettered order replayed/);

    await waitFor(
      'the replay reached the settler',
      async () => settler.stats.replayed > replayedBefore,
      SETTLE_TIMEOUT_MS,
    );
    await waitQueueDrained();
    assert.equal((await ordersOf(customerId, 'blocked-2')).length, 1);
    assert.equal(await loansOf(customerId), 1);
    const usedAfter = (
      await platform.db.sql<{ used_minor: bigint }[]>`
      select used_minor from credit_lines where customer_id = ${customerId}`
    )[0]!.used_minor;
    assert.equal(usedAfter, usedBefore);
    assert.equal(usedAfter, GOODS_PRICE_MINOR, 'one order on the line');
    assert.equal(
      (await platform.queue.state(DEAD_LETTER_STREAM)).messages,
      0,
      'the dead-letter stream is empty',
    );
    assert.equal((await deadLetters()).total, 0);
    await settler.flushed();
    assert.equal((await statusOf('blocked-2')).body.status, 'settled', 'the customer sees the outcome');
    const ledger = ledgerCheck(servers.pg.url);
    assert.ok(ledger.ok, JSON.stringify(ledger.report).slice(0, 1000));
  });

  test('a malformed message is listed without ids; replaying it before a fix sends it back to FENQI_DEAD, never loses it', async () => {
    const ordersBefore = Number(
      (await platform.db.sql<{ n: bigint }[]>`select count(*)::bigint as n from orders`)[0]!.n,
    );
    await platform.queue.publish(ORDERS_SUBJECT, signed({ v: 1, order_id: 'not-a-number' }), {
      msgId: 'malformed-1',
    });
    await waitFor(
      'the malformed message dead-lettered',
      async () => (await deadLetters()).total === 1,
      SETTLE_TIMEOUT_MS,
    );
    const [item] = (await deadLetters()).items;
    assert.equal(item!.order_id, null);
    assert.equal(item!.customer_id, null);
    assert.equal(item!.reason, 'bad order_id');
    assert.equal(item!.replayable, true);

    const res = await replay({ all: true });
    assert.equal(res.status, 200);
    assert.deepEqual([res.body.replayed, res.body.done], [1, true]);
    await waitFor(
      'dead-lettered again under a new sequence',
      async () => {
        const page = await deadLetters();
        return page.total === 1 && page.items[0]!.seq !== item!.seq;
      },
      SETTLE_TIMEOUT_MS,
    );
    const ordersAfter = Number(
      (await platform.db.sql<{ n: bigint }[]>`select count(*)::bigint as n from orders`)[0]!.n,
    );
    assert.equal(ordersAfter, ordersBefore);
  });

  test('a dead letter on the old shared subject (from before per-order subjects) is still listed and replayed, and settles', async () => {
    const customer = data.customers[4]!;
    await asOwner(
      `alter table orders add constraint ${BLOCKING_CONSTRAINT} check (idempotency_key not like 'blocked-%') not valid`,
    );
    const before = (await deadLetters()).total;
    const orderId = await placeOrder(customer, 'blocked-3');
    await waitFor('dead-lettered', async () => (await deadLetters()).total === before + 1, SETTLE_TIMEOUT_MS);
    // As the settler wrote it before: the same record on `fenqi.dead.orders` itself.
    const perOrder = (await platform.queue.lastBySubject(DEAD_LETTER_STREAM, deadOrderSubject(orderId)))!;
    const legacy = await platform.queue.publish(DEAD_ORDERS_SUBJECT, perOrder.data, { msgId: 'legacy-1' });
    assert.equal(await platform.queue.remove(DEAD_LETTER_STREAM, perOrder.seq), true);

    const listed = (await deadLetters()).items;
    assert.deepEqual(
      listed.map((d) => d.seq),
      [...listed.map((d) => d.seq)].sort((a, b) => Number(a) - Number(b)),
      'in sequence order across both subjects',
    );
    const item = listed.find((d) => d.seq === String(legacy.seq));
    assert.deepEqual(
      [item?.order_id, item?.customer_id, item?.replayable],
      [orderId, customer.toString(), true],
    );
    await settler.flushed();
    assertHeld(await statusOf('blocked-3'), 'blocked-3');

    await asOwner(`alter table orders drop constraint ${BLOCKING_CONSTRAINT}`);
    const res = await replay({ seqs: [String(legacy.seq)] });
    assert.equal(res.body.replayed, 1, JSON.stringify(res.body));
    await waitStored(customer, 'blocked-3');
    await waitQueueDrained();
    await settler.flushed();
    const status = await statusOf('blocked-3');
    assert.equal(status.body.status, 'settled');
    assert.equal((await ordersOf(customer, 'blocked-3')).length, 1);
    assert.equal((await deadLetters()).total, before);
  });
  test('settled orders are trimmed from the stream, and a retry of one is answered from the database', async () => {
    const c = data.customers[5]!;
    const orderId = await placeOrder(c, 'retry-after-settle');
    await waitStored(c, 'retry-after-settle');
    await waitQueueDrained();
    // the worker's periodic trim drops what it has finished with from the stream
    await waitFor(
      'settled orders trimmed from the stream',
      async () => (await settler.trim(), (await platform.queue.state(ORDERS_STREAM)).messages === 0),
      SETTLE_TIMEOUT_MS,
    );
    // the cached answer expired: the retry reaches the stream, which still knows the message id
    await platform.cache.del(orderIdempotencyKey(c, 'retry-after-settle'));
    const headers = {
      authorization: `Bearer ${token('customer', c)}`,
      'idempotency-key': 'retry-after-settle',
    };
    const body = { goods_id: data.goodsId.toString(), product_id: data.productId.toString(), tenor: TENOR };
    const again = await call('POST', '/v1/orders', headers, body);
    assert.equal(again.status, 202, JSON.stringify(again.body));
    assert.equal(again.body.order_id, orderId, 'the same order, not a new one');
    const other = await call('POST', '/v1/orders', headers, { ...body, tenor: 6 });
    assert.equal(other.status, 409, JSON.stringify(other.body));
    assert.equal(other.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal((await ordersOf(c, 'retry-after-settle')).length, 1);
  });

  test('a message redelivered past the delivery limit is dead-lettered by the settler, never stranded', async () => {
    const orderId = '777000111';
    let terminated = false;
    const message = {
      subject: ORDERS_SUBJECT,
      data: signed({ v: 1, order_id: orderId }),
      msgId: `order:1:stranded`,
      headers: {},
      deliveryCount: ORDER_MAX_DELIVER + 1,
      ack: () => assert.fail('a message past the limit is not settled'),
      nak: () => assert.fail('a message past the limit is not retried'),
      term: () => {
        terminated = true;
      },
    };
    await settler.handle([message]);
    assert.ok(terminated);
    const dead = await platform.queue.lastBySubject(DEAD_LETTER_STREAM, deadOrderSubject(orderId));
    assert.ok(dead, 'the dead letter is stored');
    assert.match(JSON.parse(Buffer.from(dead.data).toString('utf8')).reason, /gave up after 10 deliveries/);
  });
});
