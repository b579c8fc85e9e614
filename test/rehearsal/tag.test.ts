/**
 * The rehearsal tag on its own: what it signs, what it refuses, and the context that carries it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertProduction,
  assertShadow,
  currentRehearsal,
  RehearsalLeak,
  runAsRehearsal,
  runUntagged,
} from '../../src/rehearsal/context.ts';
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
