import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { signAccessToken, TokenVerifier, VERIFIED_TOKENS_MAX } from '../../src/api/auth.ts';

const secret = randomBytes(32);

test('a remembered token is refused once it expires, as a fresh verification would refuse it', () => {
  const verifier = new TokenVerifier(secret);
  const token = signAccessToken(secret, { role: 'customer', id: 42n }, 60);
  const now = Date.now();
  assert.deepEqual(verifier.verify(token, now), { role: 'customer', id: 42n });
  assert.deepEqual(verifier.verify(token, now + 59_000), { role: 'customer', id: 42n });
  assert.equal(verifier.verify(token, now + 61_000), undefined);
});

test('only the exact token bytes under the same secret are remembered: a forged or foreign token is refused', () => {
  const verifier = new TokenVerifier(secret);
  const token = signAccessToken(secret, { role: 'customer', id: 7n }, 60);
  assert.ok(verifier.verify(token));
  const [body, mac] = token.split('.') as [string, string];
  const otherBody = Buffer.from(JSON.stringify({ r: 'ops', s: '7', e: 9_999_999_999 })).toString('base64url');
  assert.equal(verifier.verify(`${otherBody}.${mac}`), undefined);
  assert.equal(verifier.verify(`${body}.${mac.slice(0, -2)}AA`), undefined);
  const foreign = signAccessToken(randomBytes(32), { role: 'customer', id: 7n }, 60);
  assert.equal(verifier.verify(foreign), undefined);
});

test('the memo is bounded: past VERIFIED_TOKENS_MAX tokens it starts over and still verifies', () => {
  const verifier = new TokenVerifier(secret);
  let last = '';
  for (let i = 0; i <= VERIFIED_TOKENS_MAX; i++) {
    last = signAccessToken(secret, { role: 'customer', id: BigInt(i + 1) }, 60);
    assert.ok(verifier.verify(last));
  }
  assert.deepEqual(verifier.verify(last), { role: 'customer', id: BigInt(VERIFIED_TOKENS_MAX + 1) });
});
