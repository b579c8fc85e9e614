/**
 * Loss of one NATS node during order intake: a three-node cluster (one node per data center),
 * an R3 JetStream stream, numbered orders published with their number as the message id while
 * the stream's leader is SIGKILLed, then everything consumed back: every acknowledged order is
 * there, exactly once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection, nanos } from '@nats-io/transport-node';
import { loadConfig } from '../../src/config.ts';
import { BINARIES_NATS, down, killNatsNode, type TopologyState, up } from '../../src/ops/cluster.ts';
import { chownToPostgres, missingBinaries, progress, sleep, waitFor } from '../../src/ops/proc.ts';
import {
  type DcName,
  type NatsTopologyUser,
  natsConnectOptions,
  natsTopologyLink,
  natsUrl,
} from '../../src/ops/topology.ts';
import { JetStreamQueue } from '../../src/queue/jetstream-queue.ts';
import {
  DEAD_LETTER_STREAM,
  ORDERS_STREAM,
  ORDERS_SUBJECT,
  platformConsumers,
  platformStreams,
} from '../../src/queue/streams.ts';
import { platformKeysEnv } from '../harness/keys.ts';

const ORDERS = 400;
/** Messages each side publishes in the accounts test. */
const SIDE_MESSAGES = 3;
const KILL_AFTER_ORDERS = 120;
const PUBLISH_TIMEOUT_MS = 2_000;
const RETRY_PAUSE_MS = 100;
const STREAM_READY_LIMIT_MS = 30_000;
const CONSUME_LIMIT_MS = 30_000;
/** How long a refusing node may take to hang up (a bound on waiting, not a timing claim). */
const HANG_UP_WITHIN_MS = 5_000;
/** How long the client may take to surface the server's -ERR (a bound on waiting). */
const VIOLATION_REPORTED_LIMIT_MS = 5_000;

/** A plaintext CONNECT + PING after the node's INFO; what it answered before it hung up. */
function plaintextConnect(port: number, user: string, pass: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = '';
    let sent = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`node kept a plaintext connection open; received: ${received}`));
    }, HANG_UP_WITHIN_MS);
    socket.on('data', (d) => {
      received += d.toString();
      if (sent) return;
      sent = true;
      const connectLine = JSON.stringify({ user, pass, verbose: true, pedantic: false, tls_required: false });
      socket.write(`CONNECT ${connectLine}\r\nPING\r\n`);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

describe('NATS cluster, R3 stream', () => {
  let state: TopologyState | undefined;
  let scratch: string;
  let nc: NatsConnection | undefined;

  before(async () => {
    const missing = missingBinaries(BINARIES_NATS);
    if (missing.length > 0) throw new Error(missing.join('; '));
    scratch = await mkdtemp(path.join(os.tmpdir(), 'fenqi-nats-test-'));
    chownToPostgres(scratch);
    state = await up(path.join(scratch, 'topology'), { parts: { postgres: false, nats: true } });
  });

  after(async () => {
    await nc?.close().catch(() => {});
    if (state) await down(state, { graceful: false });
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  test('the cluster refuses a client without credentials or with a wrong password, and one that skips TLS verification of an unknown CA', async () => {
    const spec = state!.spec;
    const { tls } = natsConnectOptions(spec);
    const attempt = (options: Record<string, unknown>) =>
      connect({ servers: natsUrl(spec).split(','), reconnect: false, timeout: 5_000, ...options }).then(
        async (c) => {
          await c.close();
          return 'connected';
        },
        (err: Error) => err.message,
      );
    assert.match(await attempt({ tls }), /Authorization Violation/);
    assert.match(
      await attempt({ tls, user: 'fenqi-api', pass: 'wrong-password' }),
      /Authorization Violation/,
    );
    // without the CA, the client cannot verify the server and refuses it
    assert.notEqual(await attempt({ user: 'fenqi-api', pass: spec.passwords.nats.api }), 'connected');
    assert.equal(await attempt(natsConnectOptions(spec, 'api')), 'connected');
  });

  test('every node refuses plaintext even with the right password: it requires TLS and hangs up', async () => {
    const spec = state!.spec;
    for (const node of spec.nats) {
      const reply = await plaintextConnect(node.clientPort, 'fenqi-api', spec.passwords.nats.api);
      assert.match(reply, /"tls_required":true/, node.name);
      assert.doesNotMatch(reply, /\+OK|PONG/, node.name);
    }
  });

  test('the platform streams get the configured replicas and their retention, and a second start keeps them', async () => {
    const url = natsUrl(state!.spec);
    const replicas = loadConfig({
      DATABASE_URL: 'postgres://x@127.0.0.1/x',
      ...platformKeysEnv(),
      NATS_STREAM_REPLICAS: '3',
    }).natsStreamReplicas;
    for (const start of [1, 2]) {
      // each start is a new process opening the queue and ensuring its streams
      const queue = new JetStreamQueue(url, `ensure-${start}`, natsTopologyLink(state!.spec, 'worker'));
      try {
        await waitFor(
          `streams ensured (start ${start})`,
          () => queue.ensure(platformStreams(replicas), platformConsumers()).then(() => true),
          STREAM_READY_LIMIT_MS,
          500,
        );
      } finally {
        await queue.close();
      }
    }
    const probe = await connect({
      servers: url.split(','),
      timeout: 5_000,
      ...natsConnectOptions(state!.spec),
    });
    try {
      const jsm = await jetstreamManager(probe, { timeout: 5_000 });
      const orders = await jsm.streams.info(ORDERS_STREAM);
      assert.equal(orders.config.num_replicas, 3);
      assert.equal(orders.config.max_age, 0, 'an unsettled order is never aged out');
      const dead = await jsm.streams.info(DEAD_LETTER_STREAM);
      assert.equal(dead.config.num_replicas, 3);
      assert.equal(dead.config.max_age, 0, 'dead letters are kept until replayed');
      const settler = await jsm.consumers.info(ORDERS_STREAM, 'order-settler');
      assert.equal(settler.config.max_deliver, -1, 'the settler, not the queue, gives up on a message');
    } finally {
      await probe.close();
    }
  });

  test('the shadow user lives in its own account: production credentials never reach shadow subjects or streams, nor the shadow credential production ones', async () => {
    const spec = state!.spec;
    // every connection on one node, so a message the server routed would be queued before a PONG
    const node = `tls://127.0.0.1:${spec.nats[0]!.clientPort}`;
    const conns: NatsConnection[] = [];
    const queues: JetStreamQueue[] = [];
    const open = async (as: NatsTopologyUser) => {
      const c = await connect({ servers: [node], timeout: 5_000, ...natsConnectOptions(spec, as) });
      conns.push(c);
      return c;
    };
    const queue = (as: NatsTopologyUser) => {
      const q = new JetStreamQueue(node, `accounts-${as}`, natsTopologyLink(spec, as));
      queues.push(q);
      return q;
    };
    try {
      // the passwords are per account: neither side's user logs in with the other's
      const refused = (as: NatsTopologyUser, pass: string) =>
        connect({
          servers: [node],
          timeout: 5_000,
          ...natsConnectOptions(spec, as),
          pass,
          reconnect: false,
        }).then(
          async (c) => {
            await c.close();
            return 'connected';
          },
          (err: Error) => err.message,
        );
      assert.match(await refused('shadow', spec.passwords.nats.platform), /Authorization Violation/);
      assert.match(await refused('platform', spec.passwords.nats.shadow), /Authorization Violation/);

      // core subjects: production's admin hears everything in FENQI and nothing the shadow user sends
      const admin = await open('admin');
      const shadow = await open('shadow');
      const platform = await open('platform');
      const heard: string[] = [];
      admin.subscribe('>', {
        callback: (_err, m) => {
          heard.push(m.string());
        },
      });
      const shadowInbox: string[] = [];
      shadow.subscribe(`${natsConnectOptions(spec, 'shadow').inboxPrefix}.probe`, {
        callback: (_err, m) => {
          shadowInbox.push(m.string());
        },
      });
      await Promise.all([admin.flush(), shadow.flush()]);
      shadow.publish(ORDERS_SUBJECT, 'from-shadow');
      platform.publish(ORDERS_SUBJECT, 'from-production');
      admin.publish(`${natsConnectOptions(spec, 'shadow').inboxPrefix}.probe`, 'into-shadow-inbox');
      await Promise.all([shadow.flush(), platform.flush(), admin.flush()]);
      await Promise.all([admin.flush(), shadow.flush()]);
      assert.deepEqual(
        heard.filter((m) => m.startsWith('from-')),
        ['from-production'],
        'the admin hears production and not the shadow side',
      );
      assert.deepEqual(shadowInbox, [], 'a production publish never reaches the shadow inbox');

      // the shadow user is held to the platform's subjects inside its own account
      const violations: string[] = [];
      const limited = await connect({
        servers: [node],
        timeout: 5_000,
        ...natsConnectOptions(spec, 'shadow'),
      });
      conns.push(limited);
      void (async () => {
        for await (const s of limited.status()) {
          const e = s.type === 'error' ? (s.error as { operation?: string; subject?: string }) : undefined;
          if (e?.operation) violations.push(`${e.operation} ${e.subject}`);
        }
      })();
      limited.subscribe('>');
      limited.publish('fenqi.admin.anything', 'x');
      await limited.flush();
      const expected = ['publish fenqi.admin.anything', 'subscription >'];
      await waitFor(
        'the permission violations reported',
        async () => expected.every((v) => violations.includes(v)) || undefined,
        VIOLATION_REPORTED_LIMIT_MS,
        50,
      );
      assert.deepEqual([...violations].sort(), expected);

      // JetStream: the same stream names are two streams, each side's publishes stay in its own
      const production = queue('platform');
      const shadowQueue = queue('shadow');
      await shadowQueue.ensure(platformStreams(), platformConsumers());
      const body = (n: number) => new TextEncoder().encode(JSON.stringify({ n }));
      const productionBefore = await production.state(ORDERS_STREAM);
      for (let n = 0; n < SIDE_MESSAGES; n++) {
        await shadowQueue.publish(ORDERS_SUBJECT, body(n), { msgId: `shadow-${n}` });
      }
      assert.deepEqual(await production.state(ORDERS_STREAM), productionBefore);
      const shadowBefore = await shadowQueue.state(ORDERS_STREAM);
      assert.equal(shadowBefore.messages, SIDE_MESSAGES);
      for (let n = 0; n < SIDE_MESSAGES; n++) {
        await production.publish(ORDERS_SUBJECT, body(n), { msgId: `production-${n}` });
      }
      assert.deepEqual(await shadowQueue.state(ORDERS_STREAM), shadowBefore);
      assert.equal(
        (await production.state(ORDERS_STREAM)).messages,
        productionBefore.messages + SIDE_MESSAGES,
      );
    } finally {
      await Promise.allSettled(queues.map((q) => q.close()));
      await Promise.allSettled(conns.map((c) => c.close()));
    }
  });

  test('loss of one node during order intake loses 0 acknowledged orders', async () => {
    const spec = state!.spec;
    nc = await connect({
      servers: natsUrl(spec).split(','),
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
      timeout: 5_000,
      ...natsConnectOptions(spec),
    });
    // The meta leader is elected a moment after the three nodes see each other.
    const jsm = await waitFor(
      'the ORDERS stream',
      async () => {
        const jsm = await jetstreamManager(nc!, { timeout: 5_000 });
        await jsm.streams.add({
          name: 'ORDERS',
          subjects: ['orders.intake'],
          num_replicas: 3,
          storage: StorageType.File,
          duplicate_window: nanos(120_000),
        });
        return jsm;
      },
      STREAM_READY_LIMIT_MS,
      500,
    );
    const js = jetstream(nc, { timeout: PUBLISH_TIMEOUT_MS });
    const acked = new Set<number>();
    let failedAttempts = 0;
    let killed: DcName | undefined;
    for (let n = 1; n <= ORDERS; n++) {
      if (n === KILL_AFTER_ORDERS) {
        const info = await jsm.streams.info('ORDERS');
        killed = info.cluster?.leader as DcName;
        killNatsNode(state!, killed);
        progress(`SIGKILL nats ${killed} (the stream leader) after ${acked.size} orders`);
      }
      for (;;) {
        try {
          // The order number is the message id: a retry after a lost ack is deduplicated.
          await js.publish('orders.intake', JSON.stringify({ order: n }), { msgID: `order-${n}` });
          acked.add(n);
          break;
        } catch {
          failedAttempts += 1;
          await sleep(RETRY_PAUSE_MS);
        }
      }
    }
    progress(`published ${acked.size} orders, ${failedAttempts} failed attempts while ${killed} was down`);
    assert.ok(killed, 'a node was killed');

    // Creating a consumer needs the meta leader, which may be re-elected after the kill.
    const consumer = await waitFor(
      'an ordered consumer',
      () => js.consumers.get('ORDERS'),
      STREAM_READY_LIMIT_MS,
      500,
    );
    const seen = new Map<number, number>();
    const messages = await consumer.consume({ max_messages: 100 });
    const deadline = Date.now() + CONSUME_LIMIT_MS;
    const timer = setTimeout(() => messages.stop(), CONSUME_LIMIT_MS);
    for await (const m of messages) {
      const order = (m.json() as { order: number }).order;
      seen.set(order, (seen.get(order) ?? 0) + 1);
      if (m.info.pending === 0 || Date.now() > deadline) break;
    }
    clearTimeout(timer);
    const lost = [...acked].filter((n) => !seen.has(n));
    const duplicated = [...seen].filter(([, count]) => count > 1).map(([n]) => n);
    assert.deepEqual(lost, [], `${lost.length} acknowledged orders lost`);
    assert.deepEqual(duplicated, [], 'orders stored twice');
    assert.equal(seen.size, ORDERS);
  });
});
