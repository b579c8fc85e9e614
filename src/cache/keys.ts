/**
 * Every cache key fenqi writes is built here, and each starts with a Redis Cluster hash tag
 * (`{c:42}:credit`): Redis hashes only what is inside the first `{...}`, so every key of one tag
 * lives in one slot, on one node. What a Lua script or a multi-key command touches together shares
 * a tag (per customer, per order, per merchant key, per velocity subject); RedisCache splits a call
 * whose keys span tags into one script per slot (cluster-slots.ts). The tag comes first, so a
 * client-chosen part later in the key (an idempotency key holding `{`) cannot move the slot.
 * The `fenqi:` prefix (cache.ts) is added by the client in front of the tag and hashes with nothing.
 */
import { invariant } from '../domain/errors.ts';

type Part = string | number | bigint;

/** The longest tag: tags are ids and digests, and a long tag would be a key design mistake. */
export const KEY_TAG_MAX_CHARS = 96;

/** `{tag}:part:part...`; the tag must not hold braces (it would end the tag early). */
export function taggedKey(tag: string, ...parts: Part[]): string {
  invariant(tag.length > 0 && tag.length <= KEY_TAG_MAX_CHARS, `cache key tag length ${tag.length}`);
  invariant(!/[{}]/.test(tag), 'a cache key tag holds no braces');
  return parts.length === 0 ? `{${tag}}` : `{${tag}}:${parts.join(':')}`;
}

/** The hash tags: one per owner of keys that are used together. */
export const keyTags = {
  customer: (customerId: Part) => `c:${customerId}`,
  order: (orderId: Part) => `o:${orderId}`,
  /** A client address, for per-address rate limits (IPv6 colons are fine inside a tag). */
  address: (ip: string) => `ip:${ip}`,
  /** A merchant API key, by a keyed HMAC of the key's SHA-256 (never the key, nor its bare hash). */
  merchantKey: (hashHex: string) => `mk:${hashHex}`,
  /** A risk velocity subject (phone, national id or device digest) of one kind. */
  velocity: (kind: string, subject: string) => `vel:${kind}:${subject}`,
  goods: (goodsId: Part) => `g:${goodsId}`,
  product: (productId: Part) => `p:${productId}`,
  /** The product list pages and their generation counter: one small, read-mostly slot. */
  catalogue: () => 'catalogue',
} as const;

/** A customer's credit line as the intake pre-check reads it. */
export const creditSummaryKey = (customerId: Part) => taggedKey(keyTags.customer(customerId), 'credit');

/** The answer recorded for a queued order's (customer, idempotency key): replays skip the queue. */
export const orderIdempotencyKey = (customerId: Part, key: string) =>
  taggedKey(keyTags.customer(customerId), 'idem', 'order', key);

/** An order's status view (accepted, then final), read by status polls that know only the order. */
export const orderStatusKey = (orderId: Part) => taggedKey(keyTags.order(orderId), 'status');

/** A fixed-window counter of rule `name`, window number `window`, under the subject's tag. */
export const rateLimitKey = (name: string, subjectTag: string, window: number) =>
  taggedKey(subjectTag, 'rl', name, window);

export const merchantApiKeyKey = (hashHex: string) => taggedKey(keyTags.merchantKey(hashHex), 'merchant');

/** A velocity counter; hour and day windows of one subject share the subject's slot. */
export const velocityKey = (kind: string, subject: string, window: string) =>
  taggedKey(keyTags.velocity(kind, subject), window);

export const saleGoodsKey = (goodsId: Part) => taggedKey(keyTags.goods(goodsId), 'sale');

export const productKey = (productId: Part) => taggedKey(keyTags.product(productId), 'row');

export const productGenerationKey = () => taggedKey(keyTags.catalogue(), 'generation');

export const productListKey = (parts: readonly Part[]) => taggedKey(keyTags.catalogue(), 'list', ...parts);
