/**
 * The parts of a running fenqi process — database, cache, queue — opened from one Config, and the
 * services built on them (services.ts).
 * Embedded mode gets PGlite and in-process cache and queue; real mode the servers it is given.
 * Migrations run and streams are ensured at every start: both are idempotent.
 */
import type { Cache } from './cache/cache.ts';
import { openCache } from './cache/index.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { openQueue, platformConsumers, platformStreams, type Queue } from './queue/index.ts';
import { PropagatingQueue } from './queue/propagating-queue.ts';
import { PRODUCTION_SIDE, type WorkerSide } from './rehearsal/admit.ts';
import { buildServices, type Services } from './services.ts';
import { type Database, openDatabase } from './store/db.ts';
import { migrateAsOwner } from './store/migrate.ts';

export interface Platform {
  config: Config;
  logger: Logger;
  db: Database;
  cache: Cache;
  queue: Queue;
  /** Production, or the rehearsal's shadow side (docs/rehearsal.md): what its workers take. */
  side: WorkerSide;
  /** Built once here (services.ts), never looked up by key. */
  services: Services;
  close(): Promise<void>;
}

export interface PlatformOptions {
  /** Redis key prefix (the rehearsal's shadow side: SHADOW_CACHE_PREFIX). */
  cachePrefix?: string;
  /** The shadow side (shadow.ts): its workers take tagged messages, verified with this key. */
  rehearsalKey?: Buffer;
}

export async function openPlatform(
  config: Config,
  logger: Logger,
  options: PlatformOptions = {},
): Promise<Platform> {
  const db = await openDatabase(config);
  const result = await migrateAsOwner(config, db.sql, { log: (line) => logger.info(line) });
  logger.info({ database: db.describe, applied: result.applied.length }, 'database ready');
  const cache = openCache(config, options.cachePrefix);
  const side: WorkerSide = options.rehearsalKey
    ? { kind: 'shadow', rehearsalKey: options.rehearsalKey }
    : PRODUCTION_SIDE;
  const queue = new PropagatingQueue(openQueue(config), side.kind);
  // NATS may be down at start: the process still starts, /ready says so, queued routes answer
  // 503, and the streams are ensured in the background as soon as NATS answers.
  const ensureTimer = await ensureStreams(queue, logger, config.natsStreamReplicas);
  return {
    config,
    logger,
    db,
    cache,
    queue,
    side,
    services: buildServices({ config, logger, db, cache, shadow: side.kind === 'shadow' }),
    async close() {
      if (ensureTimer) clearTimeout(ensureTimer);
      await Promise.allSettled([queue.close(), cache.close()]);
      await db.close();
    },
  };
}

export const ENSURE_STREAMS_RETRY_MS = 1_000;

async function ensureStreams(
  queue: Queue,
  logger: Logger,
  replicas: number,
): Promise<NodeJS.Timeout | undefined> {
  // the configured replicas every time: an update with fewer would shrink an R3 stream in place
  const attempt = () => queue.ensure(platformStreams(replicas), platformConsumers());
  try {
    await attempt();
    return undefined;
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'queue not ready at start; will ensure streams when it is');
  }
  const timer: NodeJS.Timeout = setTimeout(function retry() {
    attempt().then(
      () => logger.info('queue streams ensured'),
      () => timer.refresh(),
    );
  }, ENSURE_STREAMS_RETRY_MS);
  timer.unref();
  return timer;
}
