/**
 * Message authentication for what goes through the queue: nothing read from NATS authorizes
 * anything by itself (docs/security.md). A message's body carries `mac: "<key id>:<hex>"`, an
 * HMAC-SHA256 over its canonical form (every other field, keys sorted, no spaces) under one of the
 * versioned keys the API and the workers both hold (FENQI_QUEUE_MAC_KEYS). The highest key id
 * signs; every configured id verifies, so a new key is rolled out before the old one is dropped.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The field a signed message carries its MAC in. */
const MAC_FIELD = 'mac';
const MAC_PATTERN = /^(\d{1,5}):([0-9a-f]{64})$/;

/** What kind of message a MAC is for, mixed into the input, so one kind can never pass for another. */
type MacPurpose = 'order' | 'event';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** JSON with object keys sorted at every depth: the one spelling both ends compute the MAC over. */
function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function macOf(key: Buffer, purpose: MacPurpose, body: { [key: string]: JsonValue }): Buffer {
  const { [MAC_FIELD]: _ignored, ...rest } = body;
  return createHmac('sha256', key)
    .update(`fenqi-queue-mac:v1:${purpose}\n`)
    .update(canonicalJson(rest))
    .digest();
}

/** The newest key (highest id), which signs. */
function signingKey(keys: ReadonlyMap<number, Buffer>): [number, Buffer] {
  let newest: [number, Buffer] | undefined;
  for (const entry of keys) if (!newest || entry[0] > newest[0]) newest = entry;
  if (!newest) throw new Error('no queue MAC key is configured (FENQI_QUEUE_MAC_KEYS)');
  return newest;
}

/** The body with its MAC, ready to encode. */
export function signBody<T extends { [key: string]: JsonValue }>(
  keys: ReadonlyMap<number, Buffer>,
  purpose: MacPurpose,
  body: T,
): T & { mac: string } {
  const [id, key] = signingKey(keys);
  return { ...body, [MAC_FIELD]: `${id}:${macOf(key, purpose, body).toString('hex')}` };
}

/**
 * Why a decoded body fails verification, in words an operator can act on; undefined when its MAC
 * is good under one of the keys.
 */
export function macProblem(
  keys: ReadonlyMap<number, Buffer>,
  purpose: MacPurpose,
  body: unknown,
): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'not a JSON object, so no MAC';
  const mac = (body as Record<string, unknown>)[MAC_FIELD];
  if (typeof mac !== 'string') return 'MAC missing: not made by a fenqi process holding the queue key';
  const match = MAC_PATTERN.exec(mac);
  if (!match) return 'MAC malformed';
  const key = keys.get(Number(match[1]));
  if (!key) return `MAC under key id ${match[1]}, which FENQI_QUEUE_MAC_KEYS does not hold`;
  const expected = macOf(key, purpose, body as { [key: string]: JsonValue });
  const given = Buffer.from(match[2]!, 'hex');
  if (!timingSafeEqual(expected, given)) return 'MAC does not match the message: forged or altered';
  return undefined;
}
