/**
 * Shared set-up for the decision tests: a platform on real PostgreSQL and Redis started for the file, customers with a
 * chosen birth date written through the identity store, risk staff, and bearer tokens.
 */
import { randomBytes } from 'node:crypto';
import { signAccessToken } from '../../src/api/auth.ts';
import { type Api, buildApi } from '../../src/api/server.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import { createCustomer, nationalIdCheckChar } from '../../src/store/customers.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { tempDir } from '../harness/process.ts';
import { type RedisServer, startRedis } from '../harness/redis.ts';

export interface DecisionTestApi {
  platform: Platform;
  app: Api;
  pg: PostgresServer;
  redis: RedisServer;
  /** Closes the API and the platform, then destroys the servers. */
  close(): Promise<void>;
}

export const hexKey = () => randomBytes(32).toString('hex');

/** Real PostgreSQL and Redis for one test file, and the platform and API on them (`env` adds to the config). */
export async function openDecisionApi(env: Record<string, string> = {}): Promise<DecisionTestApi> {
  const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  const destroyServers = () => Promise.allSettled([pg.destroy(), redis.destroy()]);
  try {
    const config = loadConfig({
      ...pg.env(),
      ...redis.env(),
      FENQI_TOKEN_SECRET: hexKey(),
      FENQI_DATA_KEYS: `1:${hexKey()}`,
      FENQI_BLIND_INDEX_KEY: hexKey(),
      FENQI_DATA_DIR: tempDir('decision'),
      LOG_LEVEL: 'silent',
      ...env,
    });
    const platform = await openPlatform(config, createLogger('silent'));
    const app = await buildApi(platform);
    return {
      platform,
      app,
      pg,
      redis,
      async close() {
        await app.close();
        await platform.close();
        await destroyServers();
      },
    };
  } catch (err) {
    await destroyServers();
    throw err;
  }
}

let serial = 0;

/** A valid 18-character national id for someone born on the given date (YYYY-MM-DD). */
export function nationalIdBornOn(date: string, n: number): string {
  const first17 = `110101${date.replaceAll('-', '')}${String(n % 1000).padStart(3, '0')}`;
  return first17 + nationalIdCheckChar(first17);
}

/** Birth date of someone who turns `years` old `daysAgo` days before today (UTC). */
export function bornYearsAgo(years: number, daysAgo = 30): string {
  const d = new Date(Date.now() - daysAgo * 86_400_000);
  d.setUTCFullYear(d.getUTCFullYear() - years);
  return d.toISOString().slice(0, 10);
}

export interface TestCustomer {
  id: bigint;
  phone: string;
  nationalId: string;
  token: string;
}

export async function customer(platform: Platform, ageYears = 35): Promise<TestCustomer> {
  serial++;
  const phone = `139${String(process.pid % 1000).padStart(3, '0')}${String(serial).padStart(5, '0')}`;
  const nationalId = nationalIdBornOn(bornYearsAgo(ageYears), serial);
  const created = await createCustomer(platform.db.sql, platform.services.crypto, {
    phone,
    nationalId,
    legalName: `Applicant ${serial}`,
    passwordHash: 'not-a-login',
  });
  if (!created.ok) throw new Error(`customer conflict on ${created.conflict}`);
  const token = signAccessToken(platform.config.tokenSecret, { role: 'customer', id: created.id }, 900);
  return { id: created.id, phone, nationalId, token };
}

export async function riskStaff(platform: Platform): Promise<{ id: bigint; token: string }> {
  serial++;
  const [row] = await platform.db.sql<{ id: bigint }[]>`
    insert into staff (username, role, password_hash) values (${`risk${serial}`}, 'risk', 'x') returning id`;
  return {
    id: row!.id,
    token: signAccessToken(platform.config.tokenSecret, { role: 'risk', id: row!.id }, 900),
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export function application(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  serial++;
  return {
    stated_income: '15000.00',
    purpose: 'goods',
    device_id: `device-${process.pid}-${serial}`,
    requested_amount: '2000.00',
    tenor_months: 6,
    ...overrides,
  };
}
