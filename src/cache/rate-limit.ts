/**
 * Fixed-window rate limits and velocity counters in the cache (Redis in production), shared by
 * every API process. When the cache is unreachable the limiter fails open for rate limits
 * (availability over strictness; the queue backlog bound still protects the database) and the
 * caller learns it through `degraded`.
 */
import type { Cache } from './cache.ts';

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

export async function hit(
  cache: Cache,
  rule: RateLimitRule,
  subject: string,
  nowMs = Date.now(),
): Promise<RateLimitResult> {
  const window = Math.floor(nowMs / rule.windowMs);
  const retryAfterS = Math.max(1, Math.ceil(((window + 1) * rule.windowMs - nowMs) / 1000));
  try {
    const count = await cache.incr(`rl:${rule.name}:${subject}:${window}`, rule.windowMs);
    return { allowed: count <= rule.limit, count, retryAfterS, degraded: false };
  } catch {
    return { allowed: true, count: 0, retryAfterS, degraded: true };
  }
}
