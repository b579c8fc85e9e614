/**
 * The rehearsal's NATS side on a real nats-server (TLS, passwords): with the production users in
 * one account and the shadow user in another, both sides use the same stream and subject names,
 * and neither side's publishes or streams reach the other's — the server keeps them apart.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JetStreamQueue } from '../../src/queue/jetstream-queue.ts';
import {
  ORDERS_STREAM,
  ORDERS_SUBJECT,
  platformConsumers,
  platformStreams,
} from '../../src/queue/streams.ts';
import { NATS_SHADOW_USER, natsAccounts } from '../../src/rehearsal/nats.ts';
import { testCerts, testPassword } from '../harness/certs.ts';
import {
  findBinary,
  freePort,
  portAccepts,
  removeTempDir,
  type SpawnedServer,
  startServer,
  stopChild,
  tempDir,
} from '../harness/process.ts';

const PRODUCTION_MESSAGES = 3;
const SHADOW_MESSAGES = 5;

describe('NATS: the shadow account and the production account are separate namespaces', () => {
  let server: SpawnedServer;
  let dir: string;
  let url: string;
  const passwords = { platform: testPassword() };
  const shadowPassword = testPassword();
  const queues: JetStreamQueue[] = [];

  before(async () => {
    const certs = testCerts();
    dir = tempDir('nats-accounts');
    const port = await freePort();
    const config = {
      listen: `127.0.0.1:${port}`,
      jetstream: { store_dir: path.join(dir, 'jetstream') },
      tls: {
        cert_file: certs.serverCertFile,
        key_file: certs.serverKeyFile,
        ca_file: certs.caFile,
        timeout: 5,
      },
      accounts: natsAccounts(passwords, shadowPassword),
    };
    const file = path.join(dir, 'nats.conf');
    writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
    const binary = findBinary(
      ['nats-server', '/usr/sbin/nats-server', '/usr/bin/nats-server'],
      'nats-server',
    );
    server = await startServer(
      'nats-server',
      binary,
      ['-c', file],
      async (s) => (await portAccepts(port)) && s.output().includes('Server is ready'),
    );
    url = `tls://127.0.0.1:${port}`;
  });

  after(async () => {
    await Promise.allSettled(queues.map((q) => q.close()));
    if (server) await stopChild(server.child, 'SIGKILL');
    if (dir) removeTempDir(dir);
  });

  const open = (user: string, pass: string) => {
    const queue = new JetStreamQueue(url, user, { user, pass, tls: { caFile: testCerts().caFile } });
    queues.push(queue);
    return queue;
  };

  test('the same stream names hold each side its own messages, and the shadow side never adds to production', async () => {
    const production = open('fenqi', passwords.platform);
    const shadow = open(NATS_SHADOW_USER, shadowPassword);
    await production.ensure(platformStreams(), platformConsumers());
    await shadow.ensure(platformStreams(), platformConsumers());
    const body = (n: number) => new TextEncoder().encode(JSON.stringify({ n }));
    for (let n = 0; n < PRODUCTION_MESSAGES; n++) {
      await production.publish(ORDERS_SUBJECT, body(n), { msgId: `p-${n}` });
    }
    const before = await production.state(ORDERS_STREAM);
    for (let n = 0; n < SHADOW_MESSAGES; n++) {
      await shadow.publish(ORDERS_SUBJECT, body(n), { msgId: `s-${n}` });
    }
    assert.deepEqual(await production.state(ORDERS_STREAM), before);
    assert.equal(before.messages, PRODUCTION_MESSAGES);
    assert.equal((await shadow.state(ORDERS_STREAM)).messages, SHADOW_MESSAGES);
    const pulled = await shadow.fetch(ORDERS_STREAM, platformConsumers()[0]?.durable as string, {
      max: PRODUCTION_MESSAGES + SHADOW_MESSAGES,
      expiresMs: 1_000,
    });
    assert.deepEqual(
      pulled.map((m) => m.msgId).sort(),
      Array.from({ length: SHADOW_MESSAGES }, (_, n) => `s-${n}`).sort(),
    );
    for (const m of pulled) m.ack();
  });
});
