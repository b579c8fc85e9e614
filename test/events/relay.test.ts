/**
 * The outbox and its relay on real PostgreSQL and NATS JetStream: an event is written in the same
 * transaction as its fact (a rolled-back fact leaves no event, a fact written twice is one event);
 * the relay publishes each event to FENQI_EVENTS exactly once, also when it dies between publishing
 * and marking (in process, deterministically) and when a `fenqi worker` is SIGKILLed mid-batch;
 * events one relay's pass holds are skipped by another, which takes them over if the pass dies.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { domainEvent, eventSubject } from '../../src/domain/events.ts';
import { decodeEvent, encodeEvent } from '../../src/events/message.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import { EVENTS_STREAM, type Queue } from '../../src/queue/index.ts';
import { claimUnrelayed, emitEvents, eventIdOf, unrelayedCount } from '../../src/store/outbox.ts';
import { EventRelay } from '../../src/workers/event-relay.ts';
import { SECRETS, type Servers, seed, serviceEnv, startServers, startWorker, until } from '../flash/lab.ts';
import { tempDir } from '../harness/process.ts';

/** Events the SIGKILL test writes: many relay batches, so the kill lands mid-way. */
const KILL_TEST_EVENTS = 20_000;
const RELAY_DEADLINE_MS = 120_000;

let servers: Servers;
let platform: Platform;
let customers: bigint[];

before(async () => {
  servers = await startServers();
  const config = loadConfig({
    ...servers.pg.env(),
    ...servers.redis.env(),
    ...servers.nats.env(),
    FENQI_DATA_DIR: tempDir('events-relay'),
    LOG_LEVEL: 'warn',
    ...SECRETS,
  });
  platform = await openPlatform(config, pino({ level: 'warn' }));
  customers = (await seed(platform.db.sql, 50)).customers;
});

after(async () => {
  await platform?.close();
  await servers?.destroy();
});

function repaymentEvent(customerId: bigint, n: number) {
  return domainEvent('repayment.received', customerId, `test-repayment:${n}`, {
    repayment_id: String(n),
    loan_id: '1',
    amount_minor: '100',
    business_date: '2026-12-01',
  });
}

/** Every event id stored in the events stream, read back through the queue. */
async function streamEventIds(queue: Queue): Promise<string[]> {
  const ids: string[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = await queue.list(EVENTS_STREAM, { afterSeq, max: 1_000 });
    if (page.length === 0) return ids;
    for (const m of page) {
      const decoded = decodeEvent(platform.config.queueMacKeys, m.data);
      assert.ok(decoded.ok, 'every relayed event carries a valid MAC');
      assert.equal(m.msgId, decoded.event.eventId);
      ids.push(decoded.event.eventId);
    }
    afterSeq = page.at(-1)!.seq;
  }
}

async function outboxIds(): Promise<string[]> {
  const rows = await platform.db.sql<{ event_id: string }[]>`select event_id::text from outbox_events`;
  return rows.map((r) => r.event_id);
}

test('an event exists exactly when its fact commits, and one fact written twice is one event', async () => {
  const customer = customers[0]!;
  await assert.rejects(
    platform.db.sql.begin(async (tx) => {
      await emitEvents(tx, [repaymentEvent(customer, 1)]);
      throw new Error('the fact fails');
    }),
  );
  assert.equal((await outboxIds()).length, 0, 'a rolled-back fact leaves no event');
  for (let i = 0; i < 2; i++)
    await platform.db.sql.begin((tx) => emitEvents(tx, [repaymentEvent(customer, 1)]));
  assert.deepEqual(await outboxIds(), [eventIdOf('repayment.received', 'test-repayment:1')]);
});

test('a relay that dies between publishing and marking republishes, and the stream keeps one copy', async () => {
  await platform.db.sql.begin((tx) =>
    emitEvents(
      tx,
      Array.from({ length: 30 }, (_, i) => repaymentEvent(customers[i % customers.length]!, 100 + i)),
    ),
  );
  // The crash window exactly: the relay's claim and publishes happen, its mark never commits.
  const real = platform.queue;
  await assert.rejects(
    platform.db.sql.begin(async (tx) => {
      const rows = await claimUnrelayed(tx, 100);
      assert.ok(rows.length >= 30);
      for (const row of rows) {
        const m = encodeEvent(platform.config.queueMacKeys, row);
        await real.publish(m.subject, m.data, { msgId: m.msgId });
      }
      throw new Error('killed before marking');
    }),
  );
  assert.ok((await unrelayedCount(platform.db.sql)) >= 30, 'nothing was marked relayed');
  const relay = new EventRelay(platform, 100);
  while ((await relay.relayOnce()) > 0);
  await relay.stop();
  assert.equal(await unrelayedCount(platform.db.sql), 0);
  assert.ok(relay.stats.duplicates >= 30, 'the republished events were dropped as duplicates by JetStream');
  const ids = await streamEventIds(platform.queue);
  assert.equal(new Set(ids).size, ids.length, 'no event is in the stream twice');
  assert.deepEqual([...ids].sort(), (await outboxIds()).sort(), 'every outbox event is in the stream');
  assert.equal(eventSubject('repayment.received'), 'fenqi.events.repayment.received');
});

test('events a relay pass holds are skipped by another relay, which takes them over when that pass dies', async () => {
  await platform.db.sql.begin((tx) =>
    emitEvents(
      tx,
      Array.from({ length: 10 }, (_, i) => repaymentEvent(customers[i % customers.length]!, 200 + i)),
    ),
  );
  const other = new EventRelay(platform, 100, false);
  await assert.rejects(
    platform.db.sql.begin(async (tx) => {
      const rows = await claimUnrelayed(tx, 100);
      assert.equal(rows.length, 10, 'the first pass claims every waiting event');
      assert.equal(await other.relayOnce(), 0, 'the other relay skips them while the pass runs');
      assert.deepEqual(await claimUnrelayed(tx, 100), rows, 'the pass keeps its claim');
      throw new Error('the pass dies before publishing');
    }),
  );
  assert.equal(await unrelayedCount(platform.db.sql), 10, 'the dead pass marked nothing');
  assert.equal(
    await other.relayOnce(),
    10,
    'the locks ended with the pass: the other relay takes the events',
  );
  assert.equal(await unrelayedCount(platform.db.sql), 0);
  assert.equal(other.stats.duplicates, 0, 'nothing was published twice');
  await other.stop();
});

test('a fenqi worker SIGKILLed mid-relay loses no event and publishes none twice', async () => {
  const already = (await outboxIds()).length;
  for (let start = 0; start < KILL_TEST_EVENTS; start += 5_000) {
    await platform.db.sql.begin((tx) =>
      emitEvents(
        tx,
        Array.from({ length: 5_000 }, (_, i) =>
          repaymentEvent(customers[(start + i) % customers.length]!, 10_000 + start + i),
        ),
      ),
    );
  }
  const env = serviceEnv(servers, { FENQI_SALE_MODE: 'false' });
  const first = await startWorker(env);
  const started = await until(
    async () => (await unrelayedCount(platform.db.sql)) < KILL_TEST_EVENTS,
    RELAY_DEADLINE_MS,
  );
  assert.ok(started, 'the relay started');
  await first.kill('SIGKILL');
  const left = await unrelayedCount(platform.db.sql);
  const second = await startWorker(env);
  try {
    assert.ok(await until(async () => (await unrelayedCount(platform.db.sql)) === 0, RELAY_DEADLINE_MS));
  } finally {
    await second.kill('SIGTERM');
  }
  const ids = await streamEventIds(platform.queue);
  assert.equal(
    ids.length,
    already + KILL_TEST_EVENTS,
    `every event relayed once (${left} were left at the kill)`,
  );
  assert.equal(new Set(ids).size, ids.length, 'no event is in the stream twice');
  assert.deepEqual([...ids].sort(), (await outboxIds()).sort());
});
