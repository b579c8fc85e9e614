/**
 * The rehearsal tag on its own: what it signs, what it refuses, and the context that carries it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryCache } from '../../src/cache/memory-cache.ts';
import { MemoryQueue } from '../../src/queue/memory-queue.ts';
import { PropagatingQueue, REHEARSAL_MESSAGE_HEADER } from '../../src/queue/propagating-queue.ts';
import { admitMessage, PRODUCTION_SIDE, type WorkerSide } from '../../src/rehearsal/admit.ts';
import {
  AWARE,
  assertProduction,
  assertShadow,
  currentRehearsal,
  RehearsalLeak,
  runAsRehearsal,
  runUntagged,
} from '../../src/rehearsal/context.ts';
import { checkTagged } from '../../src/rehearsal/gate.ts';
import {
  MAX_TAG_LENGTH_CHARS,
  MAX_TAG_LIFETIME_MS,
  mintTag,
  newNonce,
  signTag,
  verifyTag,
} from '../../src/rehearsal/tag.ts';

const key = randomBytes(32);
const NOW_MS = 1_800_000_000_000;

describe('rehearsal tag', () => {
  test('a minted tag verifies with its key and carries its rehearsal, expiry and nonce', () => {
    const text = mintTag(key, 'spring-2027', NOW_MS, 60_000);
    const check = verifyTag(key, text, NOW_MS);
    assert.ok(check.ok);
    assert.equal(check.tag.rehearsalId, 'spring-2027');
    assert.equal(check.tag.expiresAtMs, NOW_MS + 60_000);
  });

  test('a tag under another key, or with any field changed, is refused as invalid', () => {
    const nonce = newNonce();
    const text = signTag(key, { rehearsalId: 'spring-2027', expiresAtMs: NOW_MS + 1_000, nonce });
    assert.deepEqual(verifyTag(randomBytes(32), text, NOW_MS), { ok: false, code: 'REHEARSAL_TAG_INVALID' });
    const later = text.replace(`.${NOW_MS + 1_000}.`, `.${NOW_MS + 2_000}.`);
    assert.deepEqual(verifyTag(key, later, NOW_MS), { ok: false, code: 'REHEARSAL_TAG_INVALID' });
    const other = text.replace('spring-2027', 'autumn-2027');
    assert.deepEqual(verifyTag(key, other, NOW_MS), { ok: false, code: 'REHEARSAL_TAG_INVALID' });
    for (const junk of ['', 'v1', 'v1.a.b.c.d', 'x'.repeat(MAX_TAG_LENGTH_CHARS + 1), `${text}.extra`]) {
      assert.deepEqual(verifyTag(key, junk, NOW_MS), { ok: false, code: 'REHEARSAL_TAG_INVALID' });
    }
  });

  test('a tag past its expiry is refused as expired, one claiming more than the longest life as invalid', () => {
    const text = mintTag(key, 'spring-2027', NOW_MS, 1_000);
    assert.deepEqual(verifyTag(key, text, NOW_MS + 1_000), { ok: false, code: 'REHEARSAL_TAG_EXPIRED' });
    const tooLong = signTag(key, {
      rehearsalId: 'r',
      expiresAtMs: NOW_MS + MAX_TAG_LIFETIME_MS + 1,
      nonce: newNonce(),
    });
    assert.deepEqual(verifyTag(key, tooLong, NOW_MS), { ok: false, code: 'REHEARSAL_TAG_INVALID' });
  });

  test('a short key cannot sign', () => {
    assert.throws(() => mintTag(randomBytes(16), 'r', NOW_MS, 1_000), /too short/);
  });
});

describe('rehearsal context', () => {
  const context = { tag: { rehearsalId: 'r', expiresAtMs: NOW_MS, nonce: newNonce() }, header: 'h' };

  test('the context follows awaits and timers, and untagged work leaves it', async () => {
    await runAsRehearsal(context, async () => {
      await sleep(1);
      assert.equal(currentRehearsal()?.tag.rehearsalId, 'r');
      assert.throws(() => assertProduction('database'), RehearsalLeak);
      assertShadow('database');
      runUntagged(() => assert.equal(currentRehearsal(), undefined));
    });
    assert.equal(currentRehearsal(), undefined);
    assertProduction('database');
    assert.throws(() => assertShadow('database'), RehearsalLeak);
  });
});

describe('rehearsal tag through the queue', () => {
  const shadowSide: WorkerSide = { kind: 'shadow', rehearsalKey: key };
  const aware = { name: 'aware-worker', rehearsal: AWARE } as const;
  const undeclared = { name: 'plain-worker' };
  const live = () => {
    const header = mintTag(key, 'spring-2027', Date.now(), 60_000);
    const check = verifyTag(key, header, Date.now());
    assert.ok(check.ok);
    return { tag: check.tag, header };
  };
  const tagged = (header: string) => ({ [REHEARSAL_MESSAGE_HEADER]: header });

  test('a tagged publish carries the tag in its headers and the consumer restores the same context', async () => {
    const queue = new PropagatingQueue(new MemoryQueue(), 'shadow');
    await queue.ensure(
      [{ name: 'S', subjects: ['s.>'], duplicateWindowMs: 1_000, maxMessages: 10 }],
      [{ stream: 'S', durable: 'd', ackWaitMs: 1_000 }],
    );
    const context = live();
    await runAsRehearsal(context, () => queue.publish('s.x', Buffer.from('a')));
    await queue.publish('s.y', Buffer.from('b'));
    const [first, second] = await queue.fetch('S', 'd', { max: 2, expiresMs: 10 });
    assert.equal(first?.headers[REHEARSAL_MESSAGE_HEADER], context.header);
    assert.equal(second?.headers[REHEARSAL_MESSAGE_HEADER], undefined);
    const admitted = admitMessage(aware, shadowSide, first!.headers);
    assert.ok(admitted.ok);
    assert.deepEqual(admitted.context, context);
  });

  test('a production queue refuses a publish from tagged work before it leaves the process', async () => {
    const queue = new PropagatingQueue(new MemoryQueue(), 'production');
    await assert.rejects(
      runAsRehearsal(live(), () => queue.publish('s.x', Buffer.from('a'))),
      RehearsalLeak,
    );
  });

  test('workers refuse with stable codes: tagged on production, untagged on shadow, undeclared, forged', () => {
    const refusal = (worker: typeof undeclared, side: WorkerSide, headers: Record<string, string>) => {
      const a = admitMessage(worker, side, headers);
      return a.ok ? 'admitted' : a.code;
    };
    const header = live().header;
    assert.equal(refusal(aware, PRODUCTION_SIDE, tagged(header)), 'REHEARSAL_ON_PRODUCTION');
    assert.equal(refusal(aware, PRODUCTION_SIDE, {}), 'admitted');
    assert.equal(refusal(aware, shadowSide, {}), 'REHEARSAL_UNTAGGED');
    assert.equal(refusal(undeclared, shadowSide, tagged(header)), 'REHEARSAL_NOT_AWARE');
    assert.equal(refusal(aware, shadowSide, tagged(`${header.slice(0, -1)}x`)), 'REHEARSAL_TAG_INVALID');
    const otherKey = mintTag(randomBytes(32), 'spring-2027', Date.now(), 60_000);
    assert.equal(refusal(aware, shadowSide, tagged(otherKey)), 'REHEARSAL_TAG_INVALID');
    assert.equal(refusal(aware, shadowSide, tagged(header)), 'admitted');
  });
});

describe('rehearsal gate', () => {
  test('a tag whose nonce the shadow cache cannot check is refused with 503 REHEARSAL_UNAVAILABLE, not a 500', async () => {
    const key = randomBytes(32);
    const cache = new MemoryCache();
    cache.setIfAbsent = async () => {
      throw new Error('Command timed out');
    };
    const parts = { key, shadowCache: cache } as unknown as Parameters<typeof checkTagged>[0];
    const tag = mintTag(key, 'spring-2027', Date.now(), 60_000);
    await assert.rejects(
      checkTagged(parts, tag, async () => true),
      (err: { statusCode?: number; code?: string }) => {
        assert.equal(err.statusCode, 503);
        assert.equal(err.code, 'REHEARSAL_UNAVAILABLE');
        return true;
      },
    );
  });
});
