/**
 * The rehearsal's NATS side on a real nats-server (TLS, passwords): with the production users in
 * one account and the shadow user in another, both sides use the same stream and subject names,
 * and neither side's publishes or streams reach the other's — the server keeps them apart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JetStreamQueue } from '../../src/queue/jetstream-queue.ts';
import {
  ORDERS_STREAM,
  ORDERS_SUBJECT,
  platformConsumers,
  platformStreams,
} from '../../src/queue/streams.ts';
import { type NatsServer, type NatsUser, startNats } from '../harness/nats.ts';

const PRODUCTION_MESSAGES = 3;
const SHADOW_MESSAGES = 5;

describe('NATS: the shadow account and the production account are separate namespaces', () => {
  let nats: NatsServer;
  const queues: JetStreamQueue[] = [];

  before(async () => {
    nats = await startNats({ shadowAccount: true });
  });

  after(async () => {
    await Promise.allSettled(queues.map((q) => q.close()));
    await nats?.destroy();
  });

  const open = (as: NatsUser) => {
    const queue = new JetStreamQueue(nats.url, as, nats.link(as));
    queues.push(queue);
    return queue;
  };

  test('the same stream names hold each side its own messages, and the shadow side never adds to production', async () => {
    const production = open('platform');
    const shadow = open('shadow');
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
