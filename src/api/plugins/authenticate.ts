/**
 * Sets request.principal for every request from the credentials it carries:
 *   Authorization: Bearer <access token>  -> customer or staff (verifyAccessToken)
 *   x-api-key: fq_...                     -> merchant (sha256 of the key, looked up in merchants)
 * Missing or bad credentials leave the principal undefined; only routes that need one (requireRole)
 * answer 401, so a stale token never breaks the public catalogue.
 *
 * Registered directly on the root instance (not through app.register) so the hook and the request
 * decoration apply to every route.
 */
import type { FastifyRequest } from 'fastify';
import type { CacheIntegrity } from '../../cache/integrity.ts';
import { merchantApiKeyKey } from '../../cache/keys.ts';
import type { Platform } from '../../platform.ts';
import {
  API_KEY_MAX_LENGTH,
  API_KEY_PREFIX,
  apiKeyHash,
  merchantIdByKeyHash,
} from '../../store/merchants.ts';
import { type Principal, TokenVerifier } from '../auth.ts';
import { unavailable } from '../errors.ts';
import type { Api } from '../types.ts';

/** How long a key look-up (hit or miss) is trusted; a suspended merchant's key stops within this. */
export const MERCHANT_KEY_CACHE_TTL_MS = 30_000;
const NO_MERCHANT = '-';
export const AUTH_RETRY_AFTER_S = 1;

/**
 * Named by an HMAC of the key's hash: a Redis writer cannot name the entry of a key it chose (nor
 * find which entry is whose), and the value is sealed to the name (cache/integrity.ts).
 */
export function merchantKeyCacheKey(integrity: CacheIntegrity, hash: Buffer): string {
  return merchantApiKeyKey(integrity.keyDigest('merchant-key', hash.toString('hex')));
}

/** The cached answer, or undefined for a miss, an unreadable cache, or an entry we did not seal. */
async function cachedMerchant(platform: Platform, cacheKey: string): Promise<string | undefined> {
  const sealed = await platform.cache.get(cacheKey).catch(() => null);
  if (sealed === null) return undefined;
  const value = platform.services.cacheIntegrity.open(cacheKey, sealed);
  if (value === undefined || (value !== NO_MERCHANT && !/^\d{1,19}$/.test(value))) {
    platform.logger.warn('merchant key cache entry failed its integrity check; asking the database');
    return undefined;
  }
  return value;
}

async function merchantFor(platform: Platform, key: string): Promise<Principal | undefined> {
  if (!key.startsWith(API_KEY_PREFIX) || key.length > API_KEY_MAX_LENGTH) return undefined;
  const hash = apiKeyHash(key);
  const integrity = platform.services.cacheIntegrity;
  const cacheKey = merchantKeyCacheKey(integrity, hash);
  // The cache only saves a query; when it is down (or its entry is not ours) we ask the database.
  const cached = await cachedMerchant(platform, cacheKey);
  if (cached !== undefined)
    return cached === NO_MERCHANT ? undefined : { role: 'merchant', id: BigInt(cached) };
  let id: bigint | undefined;
  try {
    id = await merchantIdByKeyHash(platform.db.sql, hash);
  } catch (err) {
    platform.logger.warn({ err: (err as Error).message }, 'merchant key look-up failed');
    throw unavailable('AUTH_UNAVAILABLE', 'cannot check the API key right now', AUTH_RETRY_AFTER_S);
  }
  const value = id === undefined ? NO_MERCHANT : id.toString();
  await platform.cache
    .set(cacheKey, integrity.seal(cacheKey, value), MERCHANT_KEY_CACHE_TTL_MS)
    .catch(() => {});
  return id === undefined ? undefined : { role: 'merchant', id };
}

async function principalOf(
  platform: Platform,
  tokens: TokenVerifier,
  request: FastifyRequest,
): Promise<Principal | undefined> {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    const session = match ? tokens.session(match[1]!) : undefined;
    // a customer's sessions end when their password is reset (auth/revocations.ts)
    if (
      session?.principal.role === 'customer' &&
      (await platform.services.revocations.isRevoked(session.principal.id, session.issuedAtMs))
    )
      return undefined;
    return session?.principal;
  }
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string') return merchantFor(platform, apiKey);
  return undefined;
}

/** principalNow could not answer without waiting (a merchant key, or a revocation read is due). */
const ASK = Symbol('ask');

/**
 * The principal when it is known without waiting: no credentials, or a bearer token while the
 * revocation view is fresh (nearly every request). The same checks as principalOf, in the same order.
 */
function principalNow(
  platform: Platform,
  tokens: TokenVerifier,
  request: FastifyRequest,
): Principal | undefined | typeof ASK {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    const session = match ? tokens.session(match[1]!) : undefined;
    if (session?.principal.role !== 'customer') return session?.principal;
    const revoked = platform.services.revocations.revokedNow(session.principal.id, session.issuedAtMs);
    if (revoked === undefined) return ASK;
    return revoked ? undefined : session.principal;
  }
  return typeof request.headers['x-api-key'] === 'string' ? ASK : undefined;
}

export function registerAuthentication(app: Api, platform: Platform): void {
  app.decorateRequest('principal', undefined);
  const tokens = new TokenVerifier(platform.config.tokenSecret);
  // callback style: a request whose principal is known at once (principalNow) costs no promise
  app.addHook('onRequest', (request, _reply, done) => {
    const known = principalNow(platform, tokens, request);
    if (known !== ASK) {
      request.principal = known;
      done();
      return;
    }
    principalOf(platform, tokens, request).then(
      (principal) => {
        request.principal = principal;
        done();
      },
      (err: Error) => done(err),
    );
  });
}
