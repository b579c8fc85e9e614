import type { Cache, CacheEntry, CounterHit, IncrAndGet } from './cache.ts';

/** Bound on entries so a long-running embedded process cannot grow without limit. */
export const MEMORY_CACHE_MAX_ENTRIES = 100_000;

interface Entry {
  value: string;
  expiresAtMs: number;
}

/** In-process cache for the embedded mode; same contract as Redis, lost on restart. */
export class MemoryCache implements Cache {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAtMs <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private put(key: string, value: string, ttlMs: number): void {
    if (this.entries.size >= MEMORY_CACHE_MAX_ENTRIES && !this.entries.has(key)) {
      // Map keeps insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAtMs: this.now() + ttlMs });
  }

  async get(key: string): Promise<string | null> {
    return this.live(key)?.value ?? null;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.put(key, value, ttlMs);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.live(key)) return false;
    this.put(key, value, ttlMs);
    return true;
  }

  async del(...keys: string[]): Promise<void> {
    for (const key of keys) this.entries.delete(key);
  }

  async incr(key: string, windowMs: number, by = 1): Promise<number> {
    const entry = this.live(key);
    if (!entry) {
      this.put(key, String(by), windowMs);
      return by;
    }
    const next = Number(entry.value) + by;
    entry.value = String(next);
    return next;
  }

  async incrAndGet(counters: readonly CounterHit[], keys: readonly string[]): Promise<IncrAndGet> {
    const counts: number[] = [];
    for (const c of counters) counts.push(await this.incr(c.key, c.windowMs, c.by));
    return { counts, values: keys.map((key) => this.live(key)?.value ?? null) };
  }

  async setMany(entries: readonly CacheEntry[]): Promise<void> {
    for (const e of entries) {
      if (!e.ifAbsent || !this.live(e.key)) this.put(e.key, e.value, e.ttlMs);
    }
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.entries.clear();
  }
}
