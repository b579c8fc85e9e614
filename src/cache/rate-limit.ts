/**
 * Fixed-window rate limits and velocity counters in the cache (Redis in production), shared by
 * every API process. When the cache is unreachable the limiter fails open for rate limits
 * (availability over strictness; the queue backlog bound still protects the database) and the
 * caller learns it through `degraded`.
 */
import type { Cache } from './cache.ts';
import { rateLimitKey } from './keys.ts';

export interface RateLimitRule {
  name: string;
  limit: number;
  windowMs: number;
}

export interface RateLimitResult {
  allowed: boolean;
  count: number;
  /** Seconds until the window resets, for Retry-After. */
  retryAfterS: number;
  degraded: boolean;
}

/**
 * The counter key of `rule` for a subject at `nowMs`, and the seconds until its window resets.
 * `subjectTag` is the subject's hash tag (keys.ts `keyTags`), so a customer's counter shares the
 * customer's slot and can be counted in the same script as the customer's other keys.
 */
export function rateWindow(
  rule: RateLimitRule,
  subjectTag: string,
  nowMs: number,
): { key: string; retryAfterS: number } {
  const window = Math.floor(nowMs / rule.windowMs);
  return {
    key: rateLimitKey(rule.name, subjectTag, window),
    retryAfterS: Math.max(1, Math.ceil(((window + 1) * rule.windowMs - nowMs) / 1000)),
  };
}

export async function hit(
  cache: Cache,
  rule: RateLimitRule,
  subjectTag: string,
  nowMs = Date.now(),
): Promise<RateLimitResult> {
  const { key, retryAfterS } = rateWindow(rule, subjectTag, nowMs);
  try {
    const count = await cache.incr(key, rule.windowMs);
    return { allowed: count <= rule.limit, count, retryAfterS, degraded: false };
  } catch {
    return { allowed: true, count: 0, retryAfterS, degraded: true };
  }
}
