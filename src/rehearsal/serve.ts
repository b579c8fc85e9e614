/**
 * What `fenqi api` and `fenqi start` add when the process is configured for rehearsals
 * (FENQI_REHEARSAL_KEY_FILE): the shadow side's parts and routes, and the gate's parts. Without
 * that file nothing is opened and every tagged request is refused (REHEARSAL_NOT_OPEN).
 */
import { type ApiOptions, buildApi } from '../api/server.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Platform } from '../platform.ts';
import { loadRehearsalConfig } from './config.ts';
import { openShadowPlatform } from './shadow.ts';

export interface RehearsalSide {
  options: Pick<ApiOptions, 'rehearsal'>;
  shadow: Platform | undefined;
  close(): Promise<void>;
}

export async function openRehearsalSide(config: Config, logger: Logger): Promise<RehearsalSide> {
  const rehearsal = loadRehearsalConfig();
  if (!rehearsal) return { options: {}, shadow: undefined, close: async () => {} };
  const shadow = await openShadowPlatform(config, rehearsal, logger);
  const shadowApi = await buildApi(shadow, { shadow: true });
  await shadowApi.ready();
  logger.info('rehearsal traffic accepted on aware routes (shadow side open)');
  return {
    options: {
      rehearsal: { key: rehearsal.key, shadowSql: shadow.db.sql, shadowCache: shadow.cache, shadowApi },
    },
    shadow,
    async close() {
      await shadowApi.close();
      await shadow.close();
    },
  };
}

/** `fenqi worker`'s shadow side: the shadow parts alone (no routes), when rehearsals are configured. */
export async function openShadowWorkerSide(config: Config, logger: Logger): Promise<Platform | undefined> {
  const rehearsal = loadRehearsalConfig();
  if (!rehearsal) return undefined;
  return openShadowPlatform(config, rehearsal, logger);
}
