/**
 * The parts of a running fenqi process — database, cache, queue — opened from one Config.
 * Embedded mode gets PGlite and in-process cache and queue; real mode the servers it is given.
 * Migrations run and streams are ensured at every start: both are idempotent.
 */
import type { Cache } from './cache/cache.ts';
import { openCache } from './cache/index.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { openQueue, platformConsumers, platformStreams, type Queue } from './queue/index.ts';
import { type Database, openDatabase } from './store/db.ts';
import { migrate } from './store/migrate.ts';

export interface Platform {
  config: Config;
  logger: Logger;
  db: Database;
  cache: Cache;
  queue: Queue;
  close(): Promise<void>;
}

export async function openPlatform(config: Config, logger: Logger): Promise<Platform> {
  const db = await openDatabase(config);
  const result = await migrate(db.sql, { log: (line) => logger.info(line) });
  logger.info({ database: db.describe, applied: result.applied.length }, 'database ready');
  const cache = openCache(config);
  const queue = openQueue(config);
  // NATS may be down at start: the process still starts, /ready says so, and queued routes 503.
  await queue.ensure(platformStreams(), platformConsumers()).catch((err: Error) => {
    logger.warn({ err: err.message }, 'queue not ready at start; streams are ensured again on reconnect');
  });
  return {
    config,
    logger,
    db,
    cache,
    queue,
    async close() {
      await Promise.allSettled([queue.close(), cache.close()]);
      await db.close();
    },
  };
}
