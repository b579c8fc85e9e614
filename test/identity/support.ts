/** Shared wiring for the identity tests: a real platform on a test database, and well-formed people. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Api } from '../../src/api/server.ts';
import { buildApi } from '../../src/api/server.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import { nationalIdCheckChar } from '../../src/store/customers.ts';
import { type DemoCredentials, seedDemo } from '../../src/store/seed.ts';
import { runFenqi } from '../harness/cli.ts';
import { tempDir } from '../harness/process.ts';

export const hexKey = () => randomBytes(32).toString('hex');

export interface TestApi {
  platform: Platform;
  app: Api;
  close(): Promise<void>;
}

/** The platform and API as `fenqi api` builds them, on the given database and keys. */
export async function openTestApi(env: Record<string, string>): Promise<TestApi> {
  const config = loadConfig({ FENQI_DATA_DIR: tempDir('identity'), LOG_LEVEL: 'silent', ...env });
  const platform = await openPlatform(config, createLogger('silent'));
  const app = await buildApi(platform);
  return {
    platform,
    app,
    async close() {
      await app.close();
      await platform.close();
    },
  };
}

/** A resident id number with a valid check character, distinct for each n below 1000 * 365. */
export function nationalIdFor(n: number): string {
  const birth = new Date(Date.UTC(1980, 0, 1) + Math.floor(n / 1000) * 86_400_000);
  const ymd = birth.toISOString().slice(0, 10).replaceAll('-', '');
  const first17 = `110101${ymd}${String(n % 1000).padStart(3, '0')}`;
  return first17 + nationalIdCheckChar(first17);
}

export const phoneFor = (n: number) => `139${String(n).padStart(8, '0')}`;

export interface Person {
  phone: string;
  password: string;
  legal_name: string;
  national_id: string;
  bank_card?: string;
}

export function personFor(n: number, withCard = true): Person {
  return {
    phone: phoneFor(n),
    password: `pw-${n}-correct-horse`,
    legal_name: `测试用户 Tester ${n}`,
    national_id: nationalIdFor(n),
    ...(withCard ? { bank_card: `62220202${String(n).padStart(11, '0')}` } : {}),
  };
}

export async function register(app: Api, person: Person): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/customers', payload: person });
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { id: string }).id;
}

export async function login(app: Api, body: Record<string, string>): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: body });
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { access_token: string }).access_token;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Seeds the demo identities (staff, merchants, a customer) and logs the staff in. */
export async function seedAndLogIn(
  t: TestApi,
): Promise<{ demo: DemoCredentials; ops: string; risk: string; admin: string }> {
  const demo = await seedDemo(t.platform.db.sql, t.platform.services.crypto);
  assert.ok(demo, 'a fresh database is seeded');
  const ops = await login(t.app, { username: demo.staff.ops.login, password: demo.staff.ops.password });
  const risk = await login(t.app, { username: demo.staff.risk.login, password: demo.staff.risk.password });
  const admin = await login(t.app, { username: demo.staff.admin.login, password: demo.staff.admin.password });
  return { demo, ops, risk, admin };
}

export const runCli = (args: string[], env: NodeJS.ProcessEnv) =>
  // a throwaway data dir, so keys the CLI may generate never land in the checkout
  runFenqi(args, { LOG_LEVEL: 'silent', FENQI_DATA_DIR: tempDir('identity-cli'), ...env });
