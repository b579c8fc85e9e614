/**
 * Rehearsal traffic against real PostgreSQL, Redis and NATS (TLS + passwords + ACL + accounts): the
 * servers keep the shadow role and user off production objects and the production ones off shadow
 * objects; tagged orders go through the shadow NATS account with their tag in the message headers
 * and are settled by the real settler consuming there, in the shadow schema only, leaving every
 * production table, Redis key and stream byte-identical; a worker that has not declared itself
 * rehearsal-aware dead-letters a tagged message; while untagged orders at the same time settle in production; forged, expired,
 * replayed and not-open tags are refused, and so is a tagged request to a route that has not
 * declared itself rehearsal-aware.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { type Api, buildApi } from '../../src/api/server.ts';
import type { SimulatedMessageProvider } from '../../src/notify/providers.ts';
import type { Platform } from '../../src/platform.ts';
import { DEAD_LETTER_STREAM, ORDERS_STREAM } from '../../src/queue/index.ts';
import { REFUSED_SUBJECT } from '../../src/rehearsal/admit.ts';
import { runAsRehearsal } from '../../src/rehearsal/context.ts';
import { HOP_LABELS, hopSummary, spansFromOtlpJson } from '../../src/rehearsal/hops.ts';
import { planRehearsal } from '../../src/rehearsal/plan.ts';
import { DEFAULT_GUARD_RAILS, parseProfile } from '../../src/rehearsal/profile.ts';
import { reportOnShadow, runOnSides } from '../../src/rehearsal/run.ts';
import { mintTag, newNonce, REHEARSAL_TAG_HEADER, signTag, verifyTag } from '../../src/rehearsal/tag.ts';
import { TraceReceiver } from '../../src/rehearsal/trace-receiver.ts';
import { openPostgres, type Sql } from '../../src/store/db.ts';
import { readRun } from '../../src/store/rehearsals.ts';
import { flushTracing, REHEARSAL_ATTRIBUTE, SPAN_NAMES, startTracing } from '../../src/telemetry/tracing.ts';
import { AutoDebitWorker } from '../../src/workers/auto-debit.ts';
import { EventRelay, RELAY_BATCH_SIZE } from '../../src/workers/event-relay.ts';
import { startWorkers } from '../../src/workers/index.ts';
import { Notifier } from '../../src/workers/notifier.ts';
import { type OrderSettler, startOrderSettler } from '../../src/workers/order-settler.ts';
import { SECRETS, type Seed, type Servers, seed, startServers, TENOR, tokenFor } from '../flash/lab.ts';
import { tempDir } from '../harness/process.ts';
import { openShadowDeployment, redisChecksums, streamStates, tableChecksums } from './support.ts';

const REHEARSAL_ID = 'spring-2027';
/** The rehearsal planned and run through `runOnSides` (its spans kept by the run's receiver). */
const RUN_ID = 'summer-2027';
const RUN_PROFILE = 'hold:2s:4';
const TAG_LIFETIME_MS = 60_000;
/** Orders of each kind placed at the same time in the concurrent phase. */
const ORDERS_EACH = 12;
/** How long the shadow settler may take to settle what was queued before the test gives up. */
const SETTLE_WAIT_MAX_MS = 30_000;
const SETTLE_POLL_MS = 50;
/** A 503 (load shed) is retried this many times at most, after the retry-after it names. */
const OVERLOADED_RETRIES = 5;
/** Outside quiet hours in the business time zone (Asia/Shanghai): the notifier sends at once. */
const NOON_IN_SHANGHAI = new Date('2027-03-01T04:00:00Z');

/** The real notifier with its rehearsal declaration taken away. */
class UndeclaredNotifier extends Notifier {
  override readonly rehearsal = undefined;
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number };
}
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: OtlpAttribute[];
}

/**
 * A tiny OTLP/HTTP (JSON) receiver on loopback: what the platform exports, kept as it came, and
 * sent on to every URL in `fanOut`, as a deployment's collector does to a rehearsal run's receiver.
 */
async function startOtlpReceiver(): Promise<{
  url: string;
  bodies: unknown[];
  fanOut: string[];
  /** What each fanned-out export was answered (0: not reached). */
  fanOutStatuses: number[];
  close(): Promise<void>;
}> {
  const bodies: unknown[] = [];
  const fanOut: string[] = [];
  const fanOutStatuses: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/v1/traces') {
        bodies.push(JSON.parse(body.toString('utf8')));
        for (const url of fanOut) {
          const sent = await fetch(`${url}/v1/traces`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          }).catch(() => undefined);
          fanOutStatuses.push(sent?.status ?? 0);
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    fanOut,
    fanOutStatuses,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function receivedSpans(bodies: unknown[]): ReceivedSpan[] {
  type Body = { resourceSpans?: { scopeSpans?: { spans?: ReceivedSpan[] }[] }[] };
  return (bodies as Body[]).flatMap((b) =>
    (b.resourceSpans ?? []).flatMap((r) => (r.scopeSpans ?? []).flatMap((sc) => sc.spans ?? [])),
  );
}

async function countUntil(sql: Sql, table: 'orders', want: number): Promise<number> {
  const deadline = Date.now() + SETTLE_WAIT_MAX_MS;
  for (;;) {
    const [row] = await sql.unsafe<{ n: number }[]>(`select count(*)::int as n from ${table}`);
    const n = row?.n ?? 0;
    if (n >= want || Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
  }
}

describe('rehearsal traffic is isolated by the servers and refused when not properly tagged', () => {
  let servers: Servers;
  let platform: Platform;
  let shadow: Platform;
  let app: Api;
  let bare: Api;
  let shadowApi: Api;
  let prodSeed: Seed;
  let shadowSeed: Seed;
  let shadowSettler: OrderSettler;
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let shadowDbUrl: string;
  let shadowRedisUrl: string;
  const key = randomBytes(32);

  before(async () => {
    otlp = await startOtlpReceiver();
    // on before any part is built: the API registers its span hook only when tracing is on
    assert.ok(startTracing({ FENQI_OTEL_ENDPOINT: otlp.url }));
    servers = await startServers(undefined, undefined, { shadowAccount: true });
    // the shadow side queues through the shadow NATS account (a stream of the same name, its own)
    ({ platform, shadow, shadowDbUrl, shadowRedisUrl } = await openShadowDeployment(servers, {
      key,
      shadowNats: true,
    }));
    prodSeed = await seed(platform.db.sql, 4);
    shadowSeed = await seed(shadow.db.sql, 4);
    // the real settler, on the shadow side: it pulls from the shadow account's stream only
    shadowSettler = await startOrderSettler(shadow);
    await shadow.db.sql`
      insert into rehearsals (id, closes_at, target_orders_per_s)
      values (${REHEARSAL_ID}, now() + interval '1 hour', 100)`;
    shadowApi = await buildApi(shadow, { shadow: true });
    await shadowApi.ready();
    const parts = { key, shadowSql: shadow.db.sql, shadowCache: shadow.cache, shadowApi };
    app = await buildApi(platform, { rehearsal: parts });
    // a route that never declared itself rehearsal-aware
    app.get('/v1/rehearsal-probe', async () => ({ ok: true }));
    await app.ready();
    bare = await buildApi(platform);
    await bare.ready();
  });

  after(async () => {
    await Promise.allSettled([app?.close(), bare?.close(), shadowApi?.close(), shadowSettler?.stop()]);
    await Promise.allSettled([platform?.close(), shadow?.close()]);
    await servers?.destroy();
    await otlp?.close();
  });

  const order = (target: Api, data: Seed, customerId: bigint, tag?: string, mode?: 'queued') =>
    target.inject({
      method: 'POST',
      url: mode ? `/v1/orders?mode=${mode}` : '/v1/orders',
      headers: {
        authorization: `Bearer ${tokenFor(customerId)}`,
        'idempotency-key': `k-${customerId}-${newNonce()}`,
        'content-type': 'application/json',
        ...(tag ? { [REHEARSAL_TAG_HEADER]: tag } : {}),
      },
      payload: { goods_id: data.goodsId.toString(), product_id: data.productId.toString(), tenor: TENOR },
    });
  const tag = () => mintTag(key, REHEARSAL_ID, Date.now(), TAG_LIFETIME_MS);
  /**
   * A tagged order on the queued path, retried as a client does while the API answers 503 with a
   * retry-after (its admission control sheds load when this shared machine's event loop lags).
   */
  const queuedOrder = async (customerId: bigint, header = tag()) => {
    for (let attempt = 1; ; attempt++) {
      const res = await order(app, shadowSeed, customerId, attempt === 1 ? header : tag(), 'queued');
      if (res.statusCode !== 503 || attempt >= OVERLOADED_RETRIES) return res;
      await new Promise((r) => setTimeout(r, Number(res.headers['retry-after'] ?? 1) * 1_000));
    }
  };

  test('PostgreSQL refuses the shadow role production tables and the app role the shadow schema', async () => {
    const asShadow = openPostgres(shadowDbUrl);
    const asApp = openPostgres(servers.pg.env().DATABASE_URL);
    try {
      await assert.rejects(asShadow`select count(*) from public.customers`, { code: '42501' });
      await assert.rejects(
        asShadow`insert into public.rehearsals (id, closes_at, target_orders_per_s)
        values ('x', now() + interval '1 hour', 1)`,
        { code: '42501' },
      );
      await assert.rejects(asApp`select count(*) from fenqi_shadow.customers`, { code: '42501' });
      const [own] = await asShadow<{ n: number }[]>`select count(*)::int as n from customers`;
      assert.equal(own?.n, 4);
    } finally {
      await Promise.allSettled([asShadow.end(), asApp.end()]);
    }
  });

  test('Redis refuses the shadow user production keys and the app user shadow keys', async () => {
    const tls = { ca: readFileSync(servers.redis.tls.caFile) };
    const shadowClient = new Redis(shadowRedisUrl, { tls, lazyConnect: true, maxRetriesPerRequest: 0 });
    const appClient = servers.redis.client('app');
    try {
      await assert.rejects(shadowClient.get('fenqi:probe'), /NOPERM/);
      await assert.rejects(appClient.get('fenqi-shadow:probe'), /NOPERM/);
      assert.equal(await shadowClient.get('fenqi-shadow:probe'), null);
    } finally {
      shadowClient.disconnect();
      appClient.disconnect();
    }
  });

  test("a rehearsal run keeps its spans' time per hop with the run, and its report shows every hop with non-zero times", async (t) => {
    const admin = servers.redis.client('admin');
    t.after(() => admin.disconnect());
    const runTraces = await TraceReceiver.listen('127.0.0.1:0', RUN_ID);
    t.after(() => runTraces.close());
    // the collector (the test's receiver) sends what it gets on to the run's receiver
    otlp.fanOut.push(runTraces.url);
    t.after(() => otlp.fanOut.splice(otlp.fanOut.indexOf(runTraces.url), 1));
    await planRehearsal(
      platform.db.sql,
      { sql: shadow.db.sql, crypto: shadow.services.crypto },
      { id: RUN_ID, size: 4, targetOrdersPerS: 10, closesAt: new Date(Date.now() + 3_600_000) },
    );
    // production traffic before the run: its spans reach the run's receiver and are left out
    const untagged = await order(app, prodSeed, prodSeed.customers[0] as bigint);
    assert.equal(untagged.statusCode, 201, untagged.body);
    const tablesBefore = await tableChecksums(platform.db.sql);
    const keysBefore = await redisChecksums(admin);
    const apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    const rehearsal = {
      key,
      databaseUrl: shadowDbUrl,
      migrationDatabaseUrl: undefined,
      redisUrl: shadowRedisUrl,
      natsUser: undefined,
      natsPassword: undefined,
    };
    const outcome = await runOnSides(
      { shadow, rehearsal, tokenSecret: Buffer.from(SECRETS.FENQI_TOKEN_SECRET, 'hex') },
      {
        id: RUN_ID,
        profile: RUN_PROFILE,
        phases: parseProfile(RUN_PROFILE),
        rails: DEFAULT_GUARD_RAILS,
        apiUrl,
        orderMode: 'queued',
        traces: runTraces,
      },
      () => {},
    );
    assert.equal(outcome.stopReason, undefined);
    assert.ok(otlp.fanOutStatuses.length > 0 && otlp.fanOutStatuses.every((s) => s === 200));
    assert.ok(runTraces.counts.ignored > 0, "production's spans were received and left out");
    assert.ok(runTraces.spans().every((span) => span.rehearsalId === RUN_ID));
    const run = await readRun(shadow.db.sql, RUN_ID);
    assert.ok(run?.traces, 'the run stored its traces');
    const accepted = run.samples.reduce((a, x) => a + x.accepted, 0);
    assert.ok(accepted > 0, 'orders of the run were accepted');
    assert.equal(run.traces.spansHeld, runTraces.counts.held);
    const hops = new Map(run.traces.hops.map((h) => [h.hop, h]));
    assert.deepEqual([...hops.keys()], ['api', 'publish', 'queueWait', 'worker', 'database']);
    // every accepted order has its API and publish spans (the samples leave out the orders that
    // answered after the last second); a refused one its API span only; the settler's are per batch
    const [apiTraces, publishTraces] = [hops.get('api')?.traces ?? 0, hops.get('publish')?.traces ?? 0];
    assert.ok(publishTraces >= accepted && apiTraces >= publishTraces && apiTraces <= outcome.sent);
    for (const hop of ['api', 'publish', 'worker', 'database']) {
      const h = hops.get(hop);
      assert.ok(h && h.traces > 0 && h.p50Us > 0 && h.p99Us >= h.p50Us && h.maxUs >= h.p99Us, hop);
    }
    const shares = run.traces.hops.reduce((a, h) => a + h.sharePpm, 0);
    assert.ok(Math.abs(shares - 1_000_000) <= run.traces.hops.length, `shares sum to 1: ${shares}`);
    const file = path.join(tempDir('rehearsal-report'), `${RUN_ID}.html`);
    await reportOnShadow(shadow.db.sql, RUN_ID, file);
    const html = readFileSync(file, 'utf8');
    for (const h of run.traces.hops) {
      const label = HOP_LABELS[h.hop as keyof typeof HOP_LABELS];
      assert.ok(
        html.includes(`<tr><td>${label}</td><td>${h.traces}</td><td>${(h.p50Us / 1000).toFixed(2)}</td>`),
        `the report's row for ${h.hop}`,
      );
    }
    assert.ok(html.includes('Time per hop') && html.includes('Share of the time, per hop'), 'hop charts');
    assert.deepEqual(await tableChecksums(platform.db.sql), tablesBefore);
    assert.deepEqual(await redisChecksums(admin), keysBefore);
  });

  test('tagged orders queued through the shadow account are settled by the shadow settler and leave every production table, key and stream byte-identical', async (t) => {
    const admin = servers.redis.client('admin');
    t.after(() => admin.disconnect());
    const tablesBefore = await tableChecksums(platform.db.sql);
    const keysBefore = await redisChecksums(admin);
    const streamsBefore = await streamStates(servers.nats);
    const [shadowBefore] = await shadow.db.sql<{ n: number }[]>`select count(*)::int as n from orders`;
    const settledBefore = shadowSettler.stats.settled + shadowSettler.stats.rejected;
    for (const customerId of shadowSeed.customers) {
      const res = await queuedOrder(customerId);
      assert.equal(res.statusCode, 202, res.body);
    }
    const want = (shadowBefore?.n ?? 0) + shadowSeed.customers.length;
    assert.equal(await countUntil(shadow.db.sql, 'orders', want), want);
    assert.equal(
      shadowSettler.stats.settled + shadowSettler.stats.rejected - settledBefore,
      shadowSeed.customers.length,
    );
    assert.equal(shadowSettler.stats.deadLettered, 0);
    assert.equal((await shadow.queue.state(ORDERS_STREAM)).lastSeq >= shadowSeed.customers.length, true);
    assert.deepEqual(await tableChecksums(platform.db.sql), tablesBefore);
    assert.deepEqual(await redisChecksums(admin), keysBefore);
    assert.deepEqual(await streamStates(servers.nats), streamsBefore);
  });

  test('a worker that has not declared itself rehearsal-aware dead-letters a tagged message, works nothing, and is not run on the shadow side', async () => {
    const notifier = new UndeclaredNotifier(shadow, false);
    const header = tag();
    const check = verifyTag(key, header, Date.now());
    assert.ok(check.ok);
    const msgId = `probe-${newNonce()}`;
    await runAsRehearsal({ tag: check.tag, header }, () =>
      shadow.queue.publish('fenqi.events.probe', Buffer.from('{}'), { msgId }),
    );
    const streamsBefore = await streamStates(servers.nats);
    let taken = 0;
    for (let i = 0; i < 5 && taken === 0; i++) taken += await notifier.intakeOnce();
    assert.equal(taken, 1);
    assert.equal(notifier.stats.events, 0);
    assert.equal(notifier.stats.rejected, 1);
    const dead = await shadow.queue.lastBySubject(DEAD_LETTER_STREAM, `${REFUSED_SUBJECT}.notifier`);
    assert.ok(dead, 'the refused message is dead-lettered on the shadow side');
    const record = JSON.parse(Buffer.from(dead.data).toString('utf8'));
    assert.match(record.reason, /^REHEARSAL_NOT_AWARE: notifier has not declared itself rehearsal-aware/);
    assert.equal(record.msg_id, msgId);
    assert.deepEqual(await streamStates(servers.nats), streamsBefore);
    const started = await startWorkers(shadow, [async () => new UndeclaredNotifier(shadow, false)]);
    assert.deepEqual([started.names, started.refused], [[], ['notifier']]);
  });

  test('the shadow event relay and notifier work the rehearsal events on the shadow side only: sent through the shadow SMS simulator, production unchanged', async (t) => {
    const admin = servers.redis.client('admin');
    t.after(() => admin.disconnect());
    const tablesBefore = await tableChecksums(platform.db.sql);
    const keysBefore = await redisChecksums(admin);
    const streamsBefore = await streamStates(servers.nats);
    const unrelayed = async () =>
      (
        await shadow.db.sql<{ n: number }[]>`
        select count(*)::int as n from outbox_events where relayed_at is null`
      )[0]?.n ?? 0;
    const pending = await unrelayed();
    assert.ok(pending > 0, 'the settled tagged orders left events in the shadow outbox');
    const relay = new EventRelay(shadow, RELAY_BATCH_SIZE, false);
    assert.equal(relay.rehearsal, 'aware');
    assert.equal(new AutoDebitWorker(shadow, false).rehearsal, 'aware');
    // with no rehearsal open, a shadow worker's own passes do not run
    const open = await shadow.db.sql<{ id: string }[]>`
      update rehearsals set closed_at = now() where closed_at is null returning id`;
    assert.equal(await relay.relayOnce(), 0);
    assert.equal(await unrelayed(), pending);
    await shadow.db
      .sql`update rehearsals set closed_at = null where id = any(${open.map((r) => r.id)}::text[])`;
    for (let n = await relay.relayOnce(); n > 0; n = await relay.relayOnce()) {}
    assert.equal(relay.stats.relayed, pending);
    assert.equal(await unrelayed(), 0);
    const notifier = new Notifier(shadow, false, () => NOON_IN_SHANGHAI);
    for (let i = 0; i < 20 && notifier.stats.events < pending; i++) await notifier.intakeOnce();
    assert.deepEqual([notifier.stats.events, notifier.stats.rejected], [pending, 0]);
    for (let n = await notifier.sendOnce(); n > 0; n = await notifier.sendOnce()) {}
    assert.ok(notifier.stats.sent > 0, JSON.stringify(notifier.stats));
    const delivered = (p: Platform, channel: 'sms' | 'push') =>
      (p.services.messaging[channel] as SimulatedMessageProvider).deliveries().length;
    const [sentRows] = await shadow.db.sql<{ sms: number; push: number }[]>`
      select count(*) filter (where channel = 'sms')::int as sms,
        count(*) filter (where channel = 'push')::int as push
      from notifications where status = 'sent'`;
    assert.ok((sentRows?.sms ?? 0) > 0, 'messages went out by SMS');
    assert.deepEqual([delivered(shadow, 'sms'), delivered(shadow, 'push')], [sentRows?.sms, sentRows?.push]);
    assert.equal(delivered(shadow, 'sms') + delivered(shadow, 'push'), notifier.stats.sent);
    assert.deepEqual(
      [delivered(platform, 'sms'), delivered(platform, 'push')],
      [0, 0],
      'nothing went through production providers',
    );
    assert.deepEqual(await tableChecksums(platform.db.sql), tablesBefore);
    assert.deepEqual(await redisChecksums(admin), keysBefore);
    assert.deepEqual(await streamStates(servers.nats), streamsBefore);
  });

  test('one tagged order has one trace: API, intake publish, shadow settler and its transaction, each span under the one before', async () => {
    const wantOrders =
      ((await shadow.db.sql<{ n: number }[]>`select count(*)::int as n from orders`)[0]?.n ?? 0) + 1;
    const header = tag();
    const res = await queuedOrder(shadowSeed.customers[0] as bigint, header);
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(await countUntil(shadow.db.sql, 'orders', wantOrders), wantOrders);
    await shadowSettler.flushed();
    await flushTracing();
    const spans = receivedSpans(otlp.bodies);
    const batch = spans.filter((s) => s.name === SPAN_NAMES.settleBatch).at(-1);
    assert.ok(batch, 'the settle batch span was exported');
    const trace = spans.filter((s) => s.traceId === batch.traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan | undefined) =>
      s?.parentSpanId ? byId.get(s.parentSpanId) : undefined;
    const tx = trace.find((s) => s.name === SPAN_NAMES.settleTransaction);
    assert.equal(parentOf(tx)?.spanId, batch.spanId, 'the transaction runs in the batch');
    const publish = parentOf(batch);
    assert.equal(publish?.name, SPAN_NAMES.intakePublish, 'the batch continues the publish, through NATS');
    const shadowHttp = parentOf(publish);
    assert.equal(shadowHttp?.name, SPAN_NAMES.http, 'the publish happens in the shadow routes request');
    const apiHttp = parentOf(shadowHttp);
    assert.equal(apiHttp?.name, SPAN_NAMES.http, 'inside the API request that took the tagged order');
    assert.equal(apiHttp?.parentSpanId, undefined, 'which starts the trace');
    assert.ok(trace.some((s) => s.name === SPAN_NAMES.decision && s.parentSpanId === shadowHttp?.spanId));
    const attribute = (s: ReceivedSpan, key: string) =>
      s.attributes?.find((a) => a.key === key)?.value.stringValue;
    assert.equal(attribute(batch, REHEARSAL_ATTRIBUTE), REHEARSAL_ID);
    // no secret and no personal data: not the tag, not the token, not the customer
    const exported = JSON.stringify(otlp.bodies);
    assert.ok(!exported.includes(header.split('.')[4] as string), 'the tag MAC is not exported');
    assert.ok(!exported.includes(tokenFor(shadowSeed.customers[0] as bigint)), 'the token is not exported');
    const hops = hopSummary(
      spansFromOtlpJson({ resourceSpans: [{ scopeSpans: [{ spans: trace as never }] }] }),
    );
    for (const hop of ['api', 'queueWait', 'worker', 'database'] as const)
      assert.equal(hops[hop].count, 1, hop);
    assert.ok(hops.api.maxMs >= hops.api.p50Ms && hops.worker.maxMs >= hops.database.maxMs);
  });

  test('untagged orders placed at the same time as tagged ones settle in production, each on its side', async () => {
    const count = async (sql: Sql) =>
      (await sql<{ n: number }[]>`select count(*)::int as n from orders`)[0]?.n ?? 0;
    const [prodBefore, shadowBefore] = [await count(platform.db.sql), await count(shadow.db.sql)];
    const pick = (data: Seed, i: number) => data.customers[i % data.customers.length] as bigint;
    const replies = await Promise.all(
      Array.from({ length: ORDERS_EACH }, (_, i) => [
        order(app, prodSeed, pick(prodSeed, i)),
        order(app, shadowSeed, pick(shadowSeed, i), tag()),
      ]).flat(),
    );
    const created = replies.filter((r) => r.statusCode === 201).length;
    assert.equal(created, 2 * ORDERS_EACH, replies.map((r) => r.body).join('\n'));
    assert.equal((await count(platform.db.sql)) - prodBefore, ORDERS_EACH);
    assert.equal((await count(shadow.db.sql)) - shadowBefore, ORDERS_EACH);
  });

  test('forged, expired, replayed and not-open tags are refused with their codes', async () => {
    const customerId = shadowSeed.customers[0] as bigint;
    const good = tag();
    const forged = `${good.slice(0, -2)}${good.endsWith('AA') ? 'BB' : 'AA'}`;
    const wrongKey = mintTag(randomBytes(32), REHEARSAL_ID, Date.now(), TAG_LIFETIME_MS);
    const expired = signTag(key, {
      rehearsalId: REHEARSAL_ID,
      expiresAtMs: Date.now() - 1,
      nonce: newNonce(),
    });
    const notOpen = mintTag(key, 'autumn-2027', Date.now(), TAG_LIFETIME_MS);
    const cases: [string, number, string][] = [
      [forged, 403, 'REHEARSAL_TAG_INVALID'],
      [wrongKey, 403, 'REHEARSAL_TAG_INVALID'],
      ['v1.garbage', 403, 'REHEARSAL_TAG_INVALID'],
      [expired, 403, 'REHEARSAL_TAG_EXPIRED'],
      [notOpen, 409, 'REHEARSAL_NOT_OPEN'],
    ];
    for (const [text, status, code] of cases) {
      const res = await order(app, shadowSeed, customerId, text);
      assert.equal(res.statusCode, status, text);
      assert.equal(res.json().error.code, code);
    }
    assert.equal((await order(app, shadowSeed, customerId, good)).statusCode, 201);
    const replay = await order(app, shadowSeed, customerId, good);
    assert.equal(replay.statusCode, 409);
    assert.equal(replay.json().error.code, 'REHEARSAL_TAG_REPLAYED');
  });

  test('a deployment with no rehearsal configured refuses tagged traffic', async () => {
    const res = await order(bare, shadowSeed, shadowSeed.customers[0] as bigint, tag());
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().error.code, 'REHEARSAL_NOT_OPEN');
  });

  test('a route that has not declared itself rehearsal-aware refuses tagged traffic and serves untagged', async () => {
    const tagged = await app.inject({
      method: 'GET',
      url: '/v1/rehearsal-probe',
      headers: { [REHEARSAL_TAG_HEADER]: tag() },
    });
    assert.equal(tagged.statusCode, 403);
    assert.equal(tagged.json().error.code, 'REHEARSAL_NOT_AWARE');
    const plain = await app.inject({ method: 'GET', url: '/v1/rehearsal-probe' });
    assert.equal(plain.statusCode, 200);
  });
});
