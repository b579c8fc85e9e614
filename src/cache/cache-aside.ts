/**
 * Cache-aside reads that shield the database:
 * - TTL with jitter, so keys written together do not expire together;
 * - single-flight, so a cold hot key reaches the loader once per process however many ask;
 * - when the cache errors (Redis down), loads still work but pass through a concurrency limit,
 *   so the database sees at most `fallbackConcurrency` loads at once from this process.
 * Values are JSON; bigint survives as a tagged string.
 */
import type { Cache } from './cache.ts';

export const DEFAULT_TTL_MS = 30_000;
/** Each TTL is stretched by up to this fraction at random. */
export const DEFAULT_JITTER_RATIO = 0.2;
export const DEFAULT_FALLBACK_CONCURRENCY = 8;
/** A fallback load waits at most this long for a slot before it is refused. */
export const FALLBACK_QUEUE_TIMEOUT_MS = 2_000;
/** "Not found" is cached too, briefly, so a miss storm on an unknown id stays off the database. */
export const NEGATIVE_TTL_MS = 2_000;

const BIGINT_TAG = '$bigint:';
const NOT_FOUND = '{"$none":true}';

export function encodeJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? `${BIGINT_TAG}${v}` : v));
}

export function decodeJson<T>(text: string): T {
  return JSON.parse(text, (_key, v) =>
    typeof v === 'string' && v.startsWith(BIGINT_TAG) ? BigInt(v.slice(BIGINT_TAG.length)) : v,
  ) as T;
}

export class CacheOverloadedError extends Error {
  override name = 'CacheOverloadedError';
}

/** A counting semaphore with a bounded wait. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          const index = this.waiting.indexOf(wake);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(new CacheOverloadedError('database fallback is saturated'));
        }, FALLBACK_QUEUE_TIMEOUT_MS);
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.waiting.push(wake);
      });
    }
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

export interface CacheAsideOptions {
  ttlMs?: number;
  jitterRatio?: number;
  fallbackConcurrency?: number;
  random?: () => number;
}

export interface CacheAsideStats {
  hits: number;
  misses: number;
  loads: number;
  cacheErrors: number;
}

export class CacheAside {
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly fallback: Limiter;
  readonly stats: CacheAsideStats = { hits: 0, misses: 0, loads: 0, cacheErrors: 0 };

  constructor(
    private readonly cache: Cache,
    private readonly options: CacheAsideOptions = {},
  ) {
    this.fallback = new Limiter(options.fallbackConcurrency ?? DEFAULT_FALLBACK_CONCURRENCY);
  }

  ttlWithJitter(ttlMs = this.options.ttlMs ?? DEFAULT_TTL_MS): number {
    const jitter = this.options.jitterRatio ?? DEFAULT_JITTER_RATIO;
    return Math.round(ttlMs * (1 + jitter * (this.options.random ?? Math.random)()));
  }

  /**
   * The cached value of `key`, or `load()`'s (stored for next time). A loader answering
   * undefined means "not found"; that is cached briefly as well.
   */
  async get<T>(key: string, load: () => Promise<T | undefined>, ttlMs?: number): Promise<T | undefined> {
    const pending = this.inFlight.get(key);
    if (pending) return pending as Promise<T | undefined>;
    const work = this.fetch(key, load, ttlMs).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, work);
    return work;
  }

  private async fetch<T>(
    key: string,
    load: () => Promise<T | undefined>,
    ttlMs?: number,
  ): Promise<T | undefined> {
    let cached: string | null;
    try {
      cached = await this.cache.get(key);
    } catch {
      this.stats.cacheErrors++;
      this.stats.loads++;
      return this.fallback.run(load);
    }
    if (cached !== null) {
      this.stats.hits++;
      return cached === NOT_FOUND ? undefined : decodeJson<T>(cached);
    }
    this.stats.misses++;
    this.stats.loads++;
    const value = await load();
    const text = value === undefined ? NOT_FOUND : encodeJson(value);
    const ttl = value === undefined ? NEGATIVE_TTL_MS : this.ttlWithJitter(ttlMs);
    await this.cache.set(key, text, ttl).catch(() => {
      this.stats.cacheErrors++;
    });
    return value;
  }

  /**
   * A database read that is not cached (its answer changes too often) yet still single-flight and
   * bounded by the fallback limit, so a polling storm reaches the database a few queries at a time.
   */
  async direct<T>(key: string, load: () => Promise<T>): Promise<T> {
    const flightKey = `direct:${key}`;
    const pending = this.inFlight.get(flightKey);
    if (pending) return pending as Promise<T>;
    const work = this.fallback.run(load).finally(() => this.inFlight.delete(flightKey));
    this.inFlight.set(flightKey, work);
    return work;
  }

  /** Drops keys after a commit changed what they hold. Errors are swallowed: TTLs bound staleness. */
  async invalidate(...keys: string[]): Promise<void> {
    await this.cache.del(...keys).catch(() => {
      this.stats.cacheErrors++;
    });
  }

  /** Writes a fresh value after a commit (e.g. an order's new status), so readers skip the database. */
  async put(key: string, value: unknown, ttlMs?: number): Promise<void> {
    await this.cache.set(key, encodeJson(value), this.ttlWithJitter(ttlMs)).catch(() => {
      this.stats.cacheErrors++;
    });
  }
}
