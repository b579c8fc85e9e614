/**
 * Shared set-up for the web tests: real PostgreSQL and Redis, the API listening on a loopback port
 * (it serves the pages too), the demo data `npm start` seeds, and one headless Chromium (Debian's,
 * driven by playwright-core) per test file. Each test opens its own browser context, so its
 * sessionStorage (the token) starts empty.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { signAccessToken } from '../../src/api/auth.ts';
import { type Api, buildApi } from '../../src/api/server.ts';
import { loadConfig } from '../../src/config.ts';
import { CURRENT_AGREEMENT_VERSION } from '../../src/domain/agreement.ts';
import { parseAmount } from '../../src/domain/index.ts';
import { createLogger } from '../../src/logger.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import { DEFAULT_POLICY, type Policy } from '../../src/risk/model/policy.ts';
import { type RiskProviders, simulatedScoreProvider } from '../../src/risk/service/providers.ts';
import { setCreditLine } from '../../src/store/credit-lines.ts';
import { createCustomer, nationalIdCheckChar } from '../../src/store/customers.ts';
import { hashPassword } from '../../src/store/passwords.ts';
import { publishPolicy } from '../../src/store/policies.ts';
import { type DemoCredentials, seedDemo } from '../../src/store/seed.ts';
import { type NatsServer, startNats } from '../harness/nats.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { tempDir } from '../harness/process.ts';
import { type RedisServer, startRedis } from '../harness/redis.ts';
import { UNHURRIED_BUDGETS } from '../harness/risk.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** How long a page may take to show what a test waits for: generous for a loaded 2-core machine. */
export const UI_TIMEOUT_MS = 10_000;
export const PHONE_VIEWPORT = { width: 375, height: 740 };
/** The phone both apps are sized for (issue 17): every page must fit it with 44x44 px targets. */
export const APP_PHONE_VIEWPORT = { width: 390, height: 844 };
/** Smallest target a finger can hit (WCAG 2.5.5). */
export const TARGET_MIN_PX = 44;

export interface WebLab {
  platform: Platform;
  app: Api;
  baseUrl: string;
  browser: Browser;
  demo: DemoCredentials;
  close(): Promise<void>;
}

const hexKey = () => randomBytes(32).toString('hex');

/**
 * `nats`: the console's dead letters live in NATS JetStream, so its file starts a real NATS too;
 * the borrower app needs none (orders settle synchronously).
 */
export async function openWebLab(
  name: string,
  options: { nats?: boolean; env?: Record<string, string> } = {},
): Promise<WebLab> {
  let pg: PostgresServer | undefined;
  let nats: NatsServer | undefined;
  let redis: RedisServer | undefined;
  let browser: Browser | undefined;
  let platform: Platform | undefined;
  let app: Api | undefined;
  try {
    [pg, redis, nats, browser] = await Promise.all([
      startPostgres(),
      startRedis(),
      options.nats ? startNats() : undefined,
      // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
      chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] }),
    ]);
    const config = loadConfig({
      ...pg.env(),
      ...redis.env(),
      ...(nats ? nats.env() : {}),
      FENQI_TOKEN_SECRET: hexKey(),
      FENQI_DATA_KEYS: `1:${hexKey()}`,
      FENQI_BLIND_INDEX_KEY: hexKey(),
      FENQI_DATA_DIR: tempDir(name),
      FENQI_COB_AUTO: 'false',
      // the apps as deployed: an order or a cash draw names the borrower's agreement acceptance
      FENQI_AGREEMENT_REQUIRED: 'true',
      LOG_LEVEL: 'silent',
      ...options.env,
    });
    platform = await openPlatform(config, createLogger('silent'));
    const demo = await seedDemo(platform.db.sql, platform.services.crypto);
    assert.ok(demo, 'a fresh database is seeded');
    await platform.services.risk.ensureChampion();
    // Providers that always answer, and a clean bureau report: outcomes in these tests come from
    // the policy the test publishes, not from chance.
    platform.services.risk.configure({ providers: steadyProviders(), budgets: UNHURRIED_BUDGETS });
    app = await buildApi(platform);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const opened = { pg, redis, nats, browser, platform, app };
    return {
      platform,
      app,
      browser,
      demo,
      baseUrl: `http://127.0.0.1:${port}`,
      async close() {
        await opened.browser.close().catch(() => {});
        await opened.app.close();
        await opened.platform.close();
        await Promise.allSettled([opened.pg.destroy(), opened.redis.destroy(), opened.nats?.destroy()]);
      },
    };
  } catch (err) {
    await browser?.close().catch(() => {});
    await app?.close().catch(() => {});
    await platform?.close().catch(() => {});
    await Promise.allSettled([pg?.destroy(), redis?.destroy(), nats?.destroy()]);
    throw err;
  }
}

export interface TestPage {
  page: Page;
  context: BrowserContext;
  /** Uncaught errors in the page: a test ends by asserting there were none. */
  errors: string[];
  close(): Promise<void>;
}

export async function openPage(
  lab: WebLab,
  options: { viewport?: { width: number; height: number }; locale?: string } = {},
): Promise<TestPage> {
  const context = await lab.browser.newContext({
    baseURL: lab.baseUrl,
    viewport: options.viewport ?? null,
    locale: options.locale ?? 'en-US',
  });
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return { page, context, errors, close: () => context.close() };
}

function steadyProviders(): RiskProviders {
  return {
    score: simulatedScoreProvider({ timeoutRate: 0, failureRate: 0 }),
    bureau: {
      name: 'clean-bureau',
      fetchReport: async () => ({
        inquiries6m: 0,
        openAccounts: 1,
        delinquencies24m: 0,
        utilisation: 0.2,
        provider: 'clean-bureau',
      }),
    },
  };
}

let serial = 0;

export interface WebCustomer {
  id: bigint;
  phone: string;
  password: string;
  token: string;
}

/** A customer who can log in with a password, with a credit line of `limit` (none when undefined). */
export async function customerWithLine(lab: WebLab, limit?: string, ageYears = 35): Promise<WebCustomer> {
  serial++;
  const phone = `137${String(process.pid % 1000).padStart(3, '0')}${String(serial).padStart(5, '0')}`;
  const born = new Date(Date.now() - 30 * 86_400_000);
  born.setUTCFullYear(born.getUTCFullYear() - ageYears);
  const first17 = `110101${born.toISOString().slice(0, 10).replaceAll('-', '')}${String(serial % 1000).padStart(3, '0')}`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const created = await createCustomer(lab.platform.db.sql, lab.platform.services.crypto, {
    phone,
    nationalId: first17 + nationalIdCheckChar(first17),
    legalName: `Web Tester ${serial}`,
    bankCard: '6222020200112233445',
    passwordHash: await hashPassword(password),
  });
  if (!created.ok) throw new Error(`customer conflict on ${created.conflict}`);
  if (limit !== undefined) {
    await lab.platform.db.sql.begin((tx) =>
      setCreditLine(tx, created.id, { limitMinor: parseAmount(limit, 2), status: 'active' }),
    );
  }
  const token = signAccessToken(lab.platform.config.tokenSecret, { role: 'customer', id: created.id }, 900);
  return { id: created.id, phone, password, token };
}

/**
 * The default policy gives grade E no line (0× income), and a line below the minimum declines even
 * an application the grade would approve or refer; the simulated score's grade depends on the
 * applicant, so tests that want an approval or a referral give every grade a line.
 */
export function lineForEveryGrade(p: Policy): void {
  for (const grade of Object.keys(p.line.incomeMultipleBp) as (keyof Policy['line']['incomeMultipleBp'])[]) {
    p.line.incomeMultipleBp[grade] = Math.max(p.line.incomeMultipleBp[grade], 10_000);
  }
}

/** Publishes a variant of the default policy and makes this process use it at once. */
export async function usePolicy(lab: WebLab, change: (p: Policy) => void, note = 'web test'): Promise<void> {
  const policy = structuredClone(DEFAULT_POLICY);
  change(policy);
  await publishPolicy(lab.platform.db.sql, policy, note);
  lab.platform.services.risk.refresh();
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** An order placed through the API (not the page), for tests that start from an existing loan. */
export async function placeOrder(
  lab: WebLab,
  customer: WebCustomer,
  goodsIndex: number,
  tenor: number,
): Promise<{ id: string; loan_id: string }> {
  const goodsId = lab.demo.goodsIds[goodsIndex]!.toString();
  const productId = lab.demo.products.find((p) => p.code === 'GOODS-0DOWN')!.id.toString();
  const terms = { goods_id: goodsId, product_id: productId, tenor };
  const accepted = await acceptAgreement(lab, customer, terms);
  const res = await lab.app.inject({
    method: 'POST',
    url: '/v1/orders',
    headers: { ...bearer(customer.token), 'idempotency-key': `web-test-${randomBytes(8).toString('hex')}` },
    payload: { ...terms, agreement_acceptance_id: accepted.id },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

/** What the app records before an order or a draw: the current agreement, accepted for these terms. */
export async function acceptAgreement(
  lab: WebLab,
  customer: WebCustomer,
  terms: Record<string, string | number>,
  version = CURRENT_AGREEMENT_VERSION,
): Promise<{ id: string; text_sha256: string }> {
  const text_sha256 = createHash('sha256').update(`agreement ${version} as shown`).digest('hex');
  const res = await lab.app.inject({
    method: 'POST',
    url: '/v1/me/agreement-acceptances',
    headers: bearer(customer.token),
    payload: { version, text_sha256, ...terms },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

/** Logs in through the app's form. */
export async function logInToApp(page: Page, phone: string, password: string): Promise<void> {
  await page.goto('/app/#/login');
  await page.getByLabel('Mobile number').fill(phone);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { level: 1, name: /^Hello/ }).waitFor();
}

/** Logs in through the console's form. */
export async function logInToConsole(page: Page, username: string, password: string): Promise<void> {
  await page.goto('/console/#/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#who').filter({ hasText: 'staff' }).waitFor();
}

/**
 * What on the page a finger cannot use: every visible control (links, buttons, fields, summaries,
 * anything tabbable; a radio or checkbox inside a label is measured by its label, which is what
 * the finger presses) must lie within the screen's width and be at least TARGET_MIN_PX square,
 * and the page must not scroll sideways. Returns one line per problem; [] when there is none.
 */
export function controlsOffOrSmall(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`(() => {
    const out = [];
    const els = document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])');
    for (const el of els) {
      if (el.closest('[hidden]') || el.type === 'hidden') continue;
      if (el.closest('.skip-link')) continue;
      const target = (el.type === 'radio' || el.type === 'checkbox') && el.closest('label') ? el.closest('label') : el;
      const r = target.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue; // not displayed
      const name = (el.getAttribute('aria-label') || el.textContent || el.name || el.tagName).trim().slice(0, 40);
      if (r.left < 0 || r.right > window.innerWidth + 0.5) out.push(name + ' is outside the screen (' + Math.round(r.left) + '..' + Math.round(r.right) + ')');
      if (r.width < ${TARGET_MIN_PX} - 0.5 || r.height < ${TARGET_MIN_PX} - 0.5) out.push(name + ' is ' + Math.round(r.width) + 'x' + Math.round(r.height));
    }
    if (document.documentElement.scrollWidth > window.innerWidth) out.push('the page scrolls sideways');
    return out;
  })()`);
}

/** What a page must never show: values that leaked from a bug instead of data. */
const LEAKED = /\bnull\b|\bundefined\b|\bNaN\b|\[object /;

export async function assertCleanText(page: Page): Promise<void> {
  const text = (await page.locator('main').textContent()) ?? '';
  assert.doesNotMatch(text, LEAKED, `the page shows a leaked value:\n${text}`);
}

/** Every form control on the page has a name a screen reader reads out (a label or aria-label). */
export async function assertControlsNamed(page: Page): Promise<void> {
  const unnamed = await page.evaluate<string[]>(`
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => !el.closest('[hidden]'))
      .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent.trim())))
      .map((el) => el.outerHTML.slice(0, 120))`);
  assert.deepEqual(unnamed, [], 'controls without a label');
}

/** A calendar date as the app shows it in English ("4 Jan 2027"), from the API's "2027-01-04". */
export function shownDate(iso: string, locale = 'en'): string {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  const style = locale === 'zh-CN' ? 'long' : 'medium';
  return new Intl.DateTimeFormat(locale, { dateStyle: style, timeZone: 'UTC' }).format(
    new Date(Date.UTC(y, m - 1, d)),
  );
}

/** Picks a tenor on a goods page, accepts the agreement and places the order (the English page). */
export async function orderOnPage(page: Page, tenor: number): Promise<void> {
  await page.getByRole('radio', { name: `${tenor} months` }).check();
  await page.getByLabel('I have read and accept the loan agreement').check();
  await page.getByRole('button', { name: new RegExp(`^Place order: ${tenor} × ¥`) }).click();
}
