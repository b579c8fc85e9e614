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
  /**
   * In one round trip (atomic in Redis): each counter incremented as `incr` does, then each key read
   * as `get` does. Answers the counts and the values in the order asked.
   */
  incrAndGet(counters: readonly CounterHit[], keys: readonly string[]): Promise<IncrAndGet>;
  /** In one round trip: each entry as `set`, or as `setIfAbsent` when `ifAbsent`. */
  setMany(entries: readonly CacheEntry[]): Promise<void>;
  /** Round trip to the server; rejects when it is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface CounterHit {
  key: string;
  windowMs: number;
  by?: number;
}

export interface IncrAndGet {
  counts: number[];
  values: (string | null)[];
}

export interface CacheEntry {
  key: string;
  value: string;
  ttlMs: number;
  ifAbsent?: boolean;
}

/** Every cache key is namespaced so several deployments can share one Redis. */
export const CACHE_PREFIX = 'fenqi:';
/** The rehearsal's shadow keys (docs/rehearsal.md): a separate ACL user may touch only these. */
export const SHADOW_CACHE_PREFIX = 'fenqi-shadow:';
