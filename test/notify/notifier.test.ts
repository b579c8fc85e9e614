/**
 * The notifier on real PostgreSQL and NATS: events relayed from the outbox become one SMS and one
 * push per templated event, in the customer's language; a `fenqi worker` SIGKILLed mid-batch sends
 * nothing twice and loses nothing (deliveries equal what is owed); quiet hours defer messages and
 * the daily cap holds the rest for tomorrow, without dropping any.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { type DomainEvent, domainEvent } from '../../src/domain/events.ts';
import { CHANNELS, DAILY_MESSAGE_CAP_PER_CUSTOMER, TEMPLATE_OF } from '../../src/domain/notifications.ts';
import type { Delivery } from '../../src/notify/providers.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import { type EventToNotify, recordEventMessages, setPreferences } from '../../src/store/notifications.ts';
import { emitEvents } from '../../src/store/outbox.ts';
import { SECRETS, type Servers, seed, serviceEnv, startServers, startWorker, until } from '../flash/lab.ts';
import { tempDir } from '../harness/process.ts';

const CUSTOMERS = 250;
const DEADLINE_MS = 60_000;

let servers: Servers;
let platform: Platform;
let customers: bigint[];

before(async () => {
  servers = await startServers();
  platform = await openPlatform(
    loadConfig({
      ...servers.pg.env(),
      ...servers.redis.env(),
      ...servers.nats.env(),
      FENQI_DATA_DIR: tempDir('notifier'),
      LOG_LEVEL: 'warn',
      ...SECRETS,
    }),
    pino({ level: 'warn' }),
  );
  customers = (await seed(platform.db.sql, CUSTOMERS)).customers;
});

after(async () => {
  await platform?.close();
  await servers?.destroy();
});

function eventsOf(customerId: bigint, n: number): DomainEvent[] {
  return [
    domainEvent('repayment.received', customerId, `t-repay:${customerId}:${n}`, {
      repayment_id: String(n),
      loan_id: '9',
      amount_minor: '12345',
      business_date: '2026-12-04',
    }),
    domainEvent('installment.due_today', customerId, `t-due:${customerId}:${n}`, {
      loan_id: '9',
      installment_number: 1,
      due_date: '2026-12-04',
      amount_due_minor: '8325',
    }),
    domainEvent('order.settled', customerId, `t-order:${customerId}:${n}`, {
      order_id: String(n),
      loan_id: '9',
      merchant_id: '1',
      price_minor: '99900',
    }),
    // no template: nothing is sent for a disbursement
    domainEvent('loan.disbursed', customerId, `t-disb:${customerId}:${n}`, {
      loan_id: '9',
      disbursement_id: String(n),
      amount_minor: '100000',
    }),
  ];
}

test('a worker SIGKILLed mid-batch sends every message once and loses none', async () => {
  const english = customers[0]!;
  await setPreferences(platform.db.sql, english, { language: 'en' });
  await platform.db.sql.begin((tx) =>
    emitEvents(
      tx,
      customers.flatMap((c) => eventsOf(c, 1)),
    ),
  );
  const owed = customers.length * 3 * 2; // three templated events, SMS and push each
  const journal = path.join(tempDir('notify-provider'), 'deliveries');
  const env = serviceEnv(servers, {
    FENQI_SALE_MODE: 'false',
    FENQI_AUTO_DEBIT: 'false',
    FENQI_NOTIFY_SIM_JOURNAL: journal,
    FENQI_NOTIFY_QUIET_START_HOUR: '0',
    FENQI_NOTIFY_QUIET_END_HOUR: '0',
  });
  const sent = async () =>
    (
      await platform.db.sql<
        { n: number }[]
      >`select count(*)::int as n from notifications where status = 'sent'`
    )[0]!.n;
  const first = await startWorker(env);
  assert.ok(await until(async () => (await sent()) > 100, DEADLINE_MS), `sending began\n${first.output()}`);
  await first.kill('SIGKILL');
  const atKill = await sent();
  const second = await startWorker(env);
  try {
    assert.ok(await until(async () => (await sent()) === owed, DEADLINE_MS), `all ${owed} messages sent`);
  } finally {
    await second.kill('SIGTERM');
  }
  const read = (channel: string) =>
    readFileSync(`${journal}.${channel}`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Delivery);
  const deliveries = [...read('sms'), ...read('push')];
  assert.equal(deliveries.length, owed, `each owed message delivered once (${atKill} were sent at the kill)`);
  assert.equal(new Set(deliveries.map((d) => d.messageId)).size, owed);
  const [rows] = await platform.db.sql<{ n: number }[]>`select count(*)::int as n from notifications`;
  assert.equal(rows!.n, owed, 'one message per templated event and channel, none for the others');
  const mine = deliveries.filter((d) => d.customerId === english.toString());
  assert.ok(
    mine.every((d) => d.text.startsWith('[fenqi]')),
    'English for the customer who chose it',
  );
  const other = deliveries.filter((d) => d.customerId === customers[1]!.toString());
  assert.ok(
    other.every((d) => d.text.startsWith('【分期】')),
    'zh-CN by default',
  );
  assert.ok(
    other.some((d) => d.text.includes('¥123.45')),
    'amounts in yuan',
  );
});

test('quiet hours defer messages and the daily cap holds the rest for tomorrow', async () => {
  const { Notifier } = await import('../../src/workers/notifier.ts');
  const customer = customers[2]!;
  const [earlier] = await platform.db.sql<{ n: number }[]>`
    select count(*)::int as n from notifications where customer_id = ${customer} and status = 'sent'`;
  const sentBefore = earlier!.n;
  const fresh = DAILY_MESSAGE_CAP_PER_CUSTOMER * 2;
  await platform.db.sql.begin((tx) =>
    emitEvents(
      tx,
      Array.from({ length: DAILY_MESSAGE_CAP_PER_CUSTOMER }, (_, i) => eventsOf(customer, 100 + i)[0]!),
    ),
  );
  const { EventRelay } = await import('../../src/workers/event-relay.ts');
  const relay = new EventRelay(platform);
  await until(async () => relay.stats.relayed > 0, DEADLINE_MS);
  await relay.stop();
  // quiet from this hour until the hour before it (23 hours, whatever the clock says): nothing goes
  // out, nothing is dropped
  const hourNow = Number(
    new Intl.DateTimeFormat('en-GB', {
      hour: '2-digit',
      hourCycle: 'h23',
      timeZone: platform.config.businessTimeZone,
    }).format(new Date()),
  );
  const quiet = new Notifier(
    {
      ...platform,
      config: { ...platform.config, notifyQuietStartHour: hourNow, notifyQuietEndHour: (hourNow + 23) % 24 },
    } as Platform,
    false,
  );
  while ((await quiet.intakeOnce()) > 0);
  const pending = await platform.db.sql<{ n: number; later: boolean }[]>`
    select count(*)::int as n, bool_and(send_after > now()) as later from notifications
    where customer_id = ${customer} and status = 'pending'`;
  assert.equal(pending[0]!.n, fresh, 'every message is kept');
  assert.equal(pending[0]!.later, true, 'and deferred past quiet hours');
  await platform.db.sql`update notifications set send_after = now() where customer_id = ${customer}`;
  const open = new Notifier(
    {
      ...platform,
      config: { ...platform.config, notifyQuietStartHour: 0, notifyQuietEndHour: 0 },
    } as Platform,
    false,
  );
  while (
    (await open.sendOnce()) > 0 &&
    open.stats.sent + open.stats.deferred < DAILY_MESSAGE_CAP_PER_CUSTOMER * 2
  );
  const [counts] = await platform.db.sql<{ sent: number; waiting: number }[]>`
    select count(*) filter (where status = 'sent')::int as sent,
      count(*) filter (where status = 'pending' and send_after > now())::int as waiting
    from notifications where customer_id = ${customer}`;
  assert.equal(counts!.sent, DAILY_MESSAGE_CAP_PER_CUSTOMER, 'the cap holds for today');
  assert.equal(
    counts!.waiting,
    fresh - (DAILY_MESSAGE_CAP_PER_CUSTOMER - sentBefore),
    'the rest wait for tomorrow',
  );
});

test('a batch of events makes each message once: a redelivered event, one without a template and marketing to an unsubscribed customer make none', async () => {
  const [subscribed, unsubscribed] = [customers[CUSTOMERS - 1]!, customers[CUSTOMERS - 2]!];
  await setPreferences(platform.db.sql, unsubscribed, { marketingOptOut: true });
  const template = TEMPLATE_OF['order.settled']!.name;
  const sendAfter = new Date();
  const event = (customerId: bigint, marketing: boolean, withTemplate = true): EventToNotify => ({
    eventId: randomUUID(),
    customerId,
    payload: { order_id: '1', loan_id: '9', merchant_id: '1', price_minor: '99900' },
    template: withTemplate ? template : null,
    sendAfter,
    marketing,
  });
  const plain = event(subscribed, false);
  const batch = [
    plain,
    { ...plain }, // the same event again in the batch
    event(subscribed, true),
    event(unsubscribed, true), // never made
    event(unsubscribed, false), // service messages still go to the unsubscribed
    event(subscribed, false, false), // no template
  ];
  const queued = await platform.db.sql.begin((tx) => recordEventMessages(tx, batch));
  const perChannel = CHANNELS.length;
  assert.equal(queued, 3 * perChannel, 'three events make messages, on every channel');
  const again = await platform.db.sql.begin((tx) => recordEventMessages(tx, batch));
  assert.equal(again, 0, 'a redelivered batch makes nothing');
  const rows = await platform.db.sql<{ event_id: string; n: number }[]>`
    select event_id::text, count(*)::int as n from notifications
    where event_id = any(${batch.map((e) => e.eventId)}::uuid[]) group by event_id`;
  const made = new Map(rows.map((r) => [r.event_id, r.n]));
  assert.equal(made.get(plain.eventId), perChannel);
  assert.equal(made.get(batch[2]!.eventId), perChannel, 'marketing to the subscribed');
  assert.equal(made.has(batch[3]!.eventId), false, 'no marketing to the unsubscribed');
  assert.equal(made.get(batch[4]!.eventId), perChannel);
  assert.equal(made.has(batch[5]!.eventId), false, 'no template, no message');
});
