import type { Config } from '../config.ts';
import type { Cache } from './cache.ts';
import { MemoryCache } from './memory-cache.ts';
import { RedisCache } from './redis-cache.ts';

export type { Cache } from './cache.ts';
export { MemoryCache } from './memory-cache.ts';
export { RedisCache } from './redis-cache.ts';

export function openCache(
  config: Pick<Config, 'redisUrl' | 'redisTls' | 'redisClusterNodes'>,
  keyPrefix?: string,
): Cache {
  if (!config.redisUrl) return new MemoryCache();
  return new RedisCache(config.redisUrl, {
    ...(keyPrefix ? { keyPrefix } : {}),
    ...(config.redisTls ? { tls: config.redisTls } : {}),
    ...(config.redisClusterNodes ? { clusterNodes: config.redisClusterNodes } : {}),
  });
}
