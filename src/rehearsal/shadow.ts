/**
 * The shadow side: a second set of parts opened with the rehearsal's own credentials — the shadow
 * PostgreSQL role (its schema only), the shadow Redis ACL user (its prefix only), the shadow NATS
 * account (its own streams under the same names) — and simulators for every outside provider. The
 * API hands tagged requests to routes built on this side only (gate.ts), so tagged work never holds
 * a production connection, and the servers refuse it if some path ever tried.
 */
import path from 'node:path';
import { SHADOW_CACHE_PREFIX } from '../cache/cache.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { openPlatform, type Platform } from '../platform.ts';
import type { RehearsalConfig } from './config.ts';

/** The subdirectory of production's file directories the shadow side writes in. */
export const SHADOW_FILES_DIR = 'shadow';

export class ShadowNotConfigured extends Error {
  constructor(what: string) {
    super(`rehearsal: ${what} is required for the shadow side`);
    this.name = 'ShadowNotConfigured';
  }
}

/**
 * The production config with every credential swapped for the shadow one. A real-mode process
 * without a shadow credential for a part refuses to open the side rather than reuse production's.
 */
export function shadowConfig(config: Config, rehearsal: RehearsalConfig): Config {
  if (config.mode === 'real') {
    if (!rehearsal.databaseUrl) throw new ShadowNotConfigured('FENQI_SHADOW_DATABASE_URL');
    if (config.redisUrl && !rehearsal.redisUrl) throw new ShadowNotConfigured('FENQI_SHADOW_REDIS_URL');
    if (config.natsUrl && !rehearsal.natsUser) throw new ShadowNotConfigured('FENQI_SHADOW_NATS_USER');
  }
  return {
    ...config,
    databaseUrl: rehearsal.databaseUrl,
    migrationDatabaseUrl: rehearsal.migrationDatabaseUrl,
    redisUrl: rehearsal.redisUrl,
    natsUser: rehearsal.natsUser,
    natsPassword: rehearsal.natsPassword,
    // simulators only: no real payout rail for rehearsal money
    payoutUrl: undefined,
    // the shadow side's close of business writes its reconciliation files apart from production's
    settlementDir: path.join(config.settlementDir, SHADOW_FILES_DIR),
  };
}

export async function openShadowPlatform(
  config: Config,
  rehearsal: RehearsalConfig,
  logger: Logger,
): Promise<Platform> {
  if (config.mode !== 'real') throw new ShadowNotConfigured('real mode (PostgreSQL, Redis, NATS)');
  const shadowLogger = logger.child({ side: 'shadow' });
  return openPlatform(shadowConfig(config, rehearsal), shadowLogger as Logger, {
    cachePrefix: SHADOW_CACHE_PREFIX,
    rehearsalKey: rehearsal.key,
  });
}
