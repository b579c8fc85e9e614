import type { Platform } from '../../platform.ts';
import type { Metrics } from '../metrics.ts';
import type { Api } from '../server.ts';
import { healthRoutes } from './health.ts';

/** Every route plugin of the API. Versioned business routes live under /v1. */
export async function registerRoutes(app: Api, platform: Platform, metrics: Metrics): Promise<void> {
  await app.register(healthRoutes(platform, metrics));
}
