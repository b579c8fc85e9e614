/**
 * What the platform needs from a cache: strings with a TTL, counters with a window, and a health
 * probe. Redis implements it for real deployments, MemoryCache for the embedded mode.
 * A cache is never the system of record: every caller must survive a miss or an error.
 */
export interface Cache {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets only if absent; true when this call set it (locks, dedupe). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  del(...keys: string[]): Promise<void>;
  /** Adds `by` to a counter, creating it with the given window; returns the new value. */
  incr(key: string, windowMs: number, by?: number): Promise<number>;
  /** Round trip to the server; rejects when it is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Every cache key is namespaced so several deployments can share one Redis. */
export const CACHE_PREFIX = 'fenqi:';
