/**
 * The two sides a `fenqi rehearse` command works with: production's database, opened with the
 * platform's own (app) role and only ever read, and the shadow platform on the rehearsal's
 * credentials. Both are closed whatever happens.
 */
import { loadConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import type { Platform } from '../platform.ts';
import { type Database, openDatabase } from '../store/db.ts';
import { loadRehearsalConfig, type RehearsalConfig } from './config.ts';
import { openShadowPlatform } from './shadow.ts';

export interface Sides {
  production: Database;
  shadow: Platform;
  rehearsal: RehearsalConfig;
  tokenSecret: Buffer;
}

export async function withSides<T>(work: (sides: Sides) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const rehearsal = loadRehearsalConfig();
  if (!rehearsal) throw new Error('FENQI_REHEARSAL_KEY_FILE is not set: this deployment takes no rehearsals');
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const production = await openDatabase(config);
  let shadow: Platform | undefined;
  try {
    shadow = await openShadowPlatform(config, rehearsal, logger);
    return await work({ production, shadow, rehearsal, tokenSecret: config.tokenSecret });
  } finally {
    await shadow?.close();
    await production.close();
  }
}
