/**
 * The rehearsal tag: what marks a request (and every message and call it causes) as rehearsal
 * traffic. `v1.<rehearsalId>.<expiresAtMs>.<nonce>.<mac>`, the MAC an HMAC-SHA256 over everything
 * before it with the rehearsal key, compared in constant time. The expiry bounds how long a leaked
 * tag is worth anything; the nonce lets the API refuse a tag it has already seen (nonces.ts).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const REHEARSAL_TAG_HEADER = 'x-fenqi-rehearsal';
export const TAG_VERSION = 'v1';
/** A tag may not be minted to live longer than this: the nonce store keeps each nonce this long. */
export const MAX_TAG_LIFETIME_MS = 60 * 60 * 1000;
/** Longer input is refused before any parsing or hashing. */
export const MAX_TAG_LENGTH_CHARS = 200;
export const NONCE_BYTES = 16;
/** The key must carry at least this much: a short key is a guessable MAC. */
export const MIN_REHEARSAL_KEY_BYTES = 32;
const REHEARSAL_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
const NONCE = /^[A-Za-z0-9_-]{22}$/;
const MAC = /^[A-Za-z0-9_-]{43}$/;
const DIGITS = /^[0-9]{1,15}$/;

export interface RehearsalTag {
  rehearsalId: string;
  expiresAtMs: number;
  nonce: string;
}

export type TagRefusal = 'REHEARSAL_TAG_INVALID' | 'REHEARSAL_TAG_EXPIRED';
export type TagCheck = { ok: true; tag: RehearsalTag } | { ok: false; code: TagRefusal };

export function isRehearsalId(text: string): boolean {
  return REHEARSAL_ID.test(text);
}

function macOf(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}

export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64url');
}

export function signTag(key: Buffer, tag: RehearsalTag): string {
  if (key.length < MIN_REHEARSAL_KEY_BYTES) throw new Error('rehearsal key is too short');
  if (!isRehearsalId(tag.rehearsalId)) throw new Error('not a rehearsal id');
  if (!NONCE.test(tag.nonce)) throw new Error('not a nonce');
  const body = `${TAG_VERSION}.${tag.rehearsalId}.${tag.expiresAtMs}.${tag.nonce}`;
  return `${body}.${macOf(key, body)}`;
}

/** Mints a fresh tag (new nonce) for a rehearsal, valid for `lifetimeMs` from `nowMs`. */
export function mintTag(key: Buffer, rehearsalId: string, nowMs: number, lifetimeMs: number): string {
  const lifetime = Math.min(Math.max(1, lifetimeMs), MAX_TAG_LIFETIME_MS);
  return signTag(key, { rehearsalId, expiresAtMs: nowMs + lifetime, nonce: newNonce() });
}

function macMatches(key: Buffer, body: string, given: string): boolean {
  const want = Buffer.from(macOf(key, body));
  const got = Buffer.from(given);
  return want.length === got.length && timingSafeEqual(want, got);
}

/**
 * The tag's form and MAC only, not its expiry: a worker taking a message the API accepted while the
 * tag was live (the expiry and the nonce were checked there, at the entry) believes it on its MAC.
 */
export function verifyTagSignature(key: Buffer, text: string): RehearsalTag | undefined {
  if (text.length > MAX_TAG_LENGTH_CHARS) return undefined;
  const parts = text.split('.');
  if (parts.length !== 5) return undefined;
  const [version, rehearsalId, expires, nonce, mac] = parts as [string, string, string, string, string];
  const wellFormed =
    version === TAG_VERSION &&
    isRehearsalId(rehearsalId) &&
    DIGITS.test(expires) &&
    NONCE.test(nonce) &&
    MAC.test(mac);
  if (!wellFormed) return undefined;
  if (!macMatches(key, `${version}.${rehearsalId}.${expires}.${nonce}`, mac)) return undefined;
  return { rehearsalId, expiresAtMs: Number(expires), nonce };
}

/** Checks the MAC first, so nothing about an unsigned tag's fields is told back. */
export function verifyTag(key: Buffer, text: string, nowMs: number): TagCheck {
  const tag = verifyTagSignature(key, text);
  if (!tag) return { ok: false, code: 'REHEARSAL_TAG_INVALID' };
  if (tag.expiresAtMs <= nowMs) return { ok: false, code: 'REHEARSAL_TAG_EXPIRED' };
  // a correctly signed tag that claims a longer life than any minted one is refused as forged
  if (tag.expiresAtMs - nowMs > MAX_TAG_LIFETIME_MS) return { ok: false, code: 'REHEARSAL_TAG_INVALID' };
  return { ok: true, tag };
}
