import type { Config } from '../config.ts';
import type { Cache } from './cache.ts';
import { MemoryCache } from './memory-cache.ts';
import { RedisCache } from './redis-cache.ts';

export type { Cache } from './cache.ts';
export { MemoryCache } from './memory-cache.ts';
export { RedisCache } from './redis-cache.ts';

export function openCache(config: Pick<Config, 'redisUrl' | 'redisTls'>): Cache {
  return config.redisUrl
    ? new RedisCache(config.redisUrl, config.redisTls ? { tls: config.redisTls } : {})
    : new MemoryCache();
}
