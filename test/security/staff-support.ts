/** One platform on the harness's real servers for the staff-security tests, with demo staff. */

import type { Role } from '../../src/api/auth.ts';
import { signAccessToken } from '../../src/api/auth.ts';
import type { Api } from '../../src/api/server.ts';
import { buildApi } from '../../src/api/server.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import { type DemoCredentials, seedDemo } from '../../src/store/seed.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { tempDir } from '../harness/process.ts';
import { type RedisServer, startRedis } from '../harness/redis.ts';

export interface StaffLab {
  pg: PostgresServer;
  redis: RedisServer;
  platform: Platform;
  app: Api;
  demo: DemoCredentials;
  env: Record<string, string>;
  token(role: Role, id: bigint): string;
  /** A new staff user of the role, straight in the table (as `fenqi seed staff` would), with a token. */
  staff(role: 'risk' | 'ops' | 'admin', name: string): Promise<{ id: bigint; token: string }>;
  call(
    method: string,
    url: string,
    token: string | undefined,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: () => any; body: string; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

const TOKEN_TTL_S = 3600;

export async function openStaffLab(name: string): Promise<StaffLab> {
  const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  const env = { ...pg.env(), ...redis.env(), FENQI_DATA_DIR: tempDir(name), LOG_LEVEL: 'silent' };
  const platform = await openPlatform(loadConfig(env), createLogger('silent'));
  const demo = await seedDemo(platform.db.sql, platform.services.crypto);
  if (!demo) throw new Error('a fresh database is seeded');
  const app = await buildApi(platform);
  await app.ready();
  const token = (role: Role, id: bigint) =>
    signAccessToken(platform.config.tokenSecret, { role, id }, TOKEN_TTL_S);
  return {
    pg,
    redis,
    platform,
    app,
    demo,
    env,
    token,
    async staff(role, username) {
      const [row] = await platform.db.sql<{ id: bigint }[]>`
        insert into staff (username, role, password_hash) values (${username}, ${role}, 'x') returning id`;
      return { id: row!.id, token: token(role, row!.id) };
    },
    async call(method, url, bearerToken, body, headers = {}) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: { ...(bearerToken ? { authorization: `Bearer ${bearerToken}` } : {}), ...headers },
        ...(body === undefined
          ? {}
          : typeof body === 'string'
            ? {
                payload: body,
                headers: {
                  'content-type': 'application/json',
                  ...(bearerToken ? { authorization: `Bearer ${bearerToken}` } : {}),
                  ...headers,
                },
              }
            : { payload: body as object }),
      });
      return { status: res.statusCode, json: () => res.json(), body: res.body, headers: res.headers };
    },
    async close() {
      await app.close();
      await platform.close();
      await Promise.allSettled([pg.destroy(), redis.destroy()]);
    },
  };
}
