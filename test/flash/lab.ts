/**
 * A sale-day lab for the flash tests and the rehearsal: real PostgreSQL, Redis and NATS from the
 * harness, `fenqi api` and `fenqi worker` as child processes, customers seeded in bulk, clients
 * that retry 503s and connection errors with the same idempotency key, and the checks every
 * fault test ends with.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { signAccessToken } from '../../src/api/auth.ts';
import { connectPostgres, type Sql } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { ensureDefaultProducts } from '../../src/store/products.ts';
import { type CacheKind, type CacheServer, startCache } from '../harness/cache.ts';
import { type NatsOptions, type NatsServer, startNats } from '../harness/nats.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { freePort, tempDir, waitFor } from '../harness/process.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FENQI_BIN = path.join(ROOT, 'bin', 'fenqi');
export const GOODS_PRICE_MINOR = 99_900n;
export const TENOR = 12;

export interface Servers {
  pg: PostgresServer;
  /** A single Redis or a Redis Cluster (harness/cache.ts: FENQI_TEST_CACHE). */
  redis: CacheServer;
  nats: NatsServer;
  destroy(): Promise<void>;
}

export async function startServers(
  settings?: Record<string, string>,
  cache?: CacheKind,
  natsOptions?: NatsOptions,
): Promise<Servers> {
  const [pg, redis, nats] = await Promise.all([
    startPostgres({ settings }),
    startCache(cache),
    startNats(natsOptions),
  ]);
  return {
    pg,
    redis,
    nats,
    async destroy() {
      await Promise.allSettled([pg.destroy(), redis.destroy(), nats.destroy()]);
    },
  };
}

export interface Seed {
  customers: bigint[];
  /** Customers whose line takes only `tightOrders` orders: the ones that go over their limit. */
  tight: Set<bigint>;
  tightOrders: number;
  goodsId: bigint;
  productId: bigint;
}

/**
 * `count` customers with lines of `limitMinor` each, except every `tightEvery`-th customer, whose
 * line takes only `tightOrders` orders (so some customers go over their limit).
 */
export async function seed(
  sql: Sql,
  count: number,
  options: { limitMinor?: bigint; tightEvery?: number; tightOrders?: number } = {},
): Promise<Seed> {
  await migrate(sql);
  const products = await ensureDefaultProducts(sql);
  const rows = await sql<{ id: bigint }[]>`
    insert into customers (phone_enc, phone_bidx, national_id_enc, national_id_bidx, legal_name_enc,
      bank_card_enc, password_hash)
    select '\\x00', decode(md5('p' || g || random()::text), 'hex'), '\\x00', decode(md5('n' || g || random()::text), 'hex'),
      '\\x00', '\\x00', 'x'
    from generate_series(1, ${count}) g
    returning id`;
  const customers = rows.map((r) => r.id).sort((a, b) => (a < b ? -1 : 1));
  const limit = options.limitMinor ?? 1_000_000_000n;
  const tightEvery = options.tightEvery ?? 0;
  const tightOrders = options.tightOrders ?? 1;
  const tightLimit = GOODS_PRICE_MINOR * BigInt(tightOrders);
  const tight = new Set(customers.filter((_, i) => tightEvery > 0 && i % tightEvery === 0));
  await sql`
    insert into credit_lines (customer_id, limit_minor)
    select id, lim from unnest(${customers.map(String)}::bigint[],
      ${customers.map((c) => String(tight.has(c) ? tightLimit : limit))}::bigint[])
      as x(id, lim)`;
  const [m] = await sql<{ id: bigint }[]>`
    insert into merchants (name, api_key_hash) values ('Sale shop', ${randomBytes(32)}) returning id`;
  const [g] = await sql<{ id: bigint }[]>`
    insert into goods (merchant_id, sku, name, price_minor)
    values (${m!.id}, ${`SKU-${randomBytes(4).toString('hex')}`}, 'Phone', ${GOODS_PRICE_MINOR}) returning id`;
  return { customers, tight, tightOrders, goodsId: g!.id, productId: products.get('GOODS-0DOWN')! };
}

export const SECRETS = {
  FENQI_TOKEN_SECRET: randomBytes(32).toString('hex'),
  FENQI_DATA_KEYS: `1:${randomBytes(32).toString('hex')}`,
  FENQI_BLIND_INDEX_KEY: randomBytes(32).toString('hex'),
  FENQI_QUEUE_MAC_KEYS: `1:${randomBytes(32).toString('hex')}`,
};

export function tokenFor(customerId: bigint): string {
  return signAccessToken(
    Buffer.from(SECRETS.FENQI_TOKEN_SECRET, 'hex'),
    { role: 'customer', id: customerId },
    3600,
  );
}

export function serviceEnv(servers: Servers, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...servers.pg.env(),
    ...servers.redis.env(),
    ...servers.nats.env(),
    FENQI_SALE_MODE: 'true',
    FENQI_DATA_DIR: tempDir('flash-data'),
    LOG_LEVEL: 'warn',
    FENQI_RATE_LIMIT_IP_PER_S: '1000000',
    FENQI_RATE_LIMIT_CUSTOMER_PER_S: '1000',
    ...SECRETS,
    ...extra,
  };
}

export interface Proc {
  child: ChildProcess;
  port: number;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

function spawnFenqi(command: string, env: NodeJS.ProcessEnv, port: number, ready: RegExp): Promise<Proc> {
  const child = spawn(FENQI_BIN, [command], {
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  process.on('exit', () => child.kill('SIGKILL'));
  const proc: Proc = {
    child,
    port,
    output: () => lines.join('\n'),
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(signal);
      await exited;
    },
  };
  return waitFor(
    `fenqi ${command}`,
    async () => {
      if (child.exitCode !== null) throw new Error(`fenqi ${command} exited:\n${proc.output()}`);
      return ready.test(proc.output());
    },
    60_000,
  ).then(
    () => proc,
    (err: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${err.message}\n${proc.output()}`);
    },
  );
}

export async function startApi(env: NodeJS.ProcessEnv): Promise<Proc> {
  return spawnFenqi('api', env, await freePort(), /API:\s+http/);
}

export async function startWorker(env: NodeJS.ProcessEnv): Promise<Proc> {
  return spawnFenqi('worker', env, 0, /fenqi worker ready/);
}

/** `fenqi ledger check --json` against the database; the parsed report and exit code. */
export function ledgerCheck(databaseUrl: string): { ok: boolean; report: Record<string, unknown> } {
  try {
    const out = execFileSync(FENQI_BIN, ['ledger', 'check', '--json'], {
      env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', ...SECRETS },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { ok: true, report: JSON.parse(out.trim().split('\n').pop()!) };
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? '');
    let report: Record<string, unknown> = { output: out };
    try {
      report = JSON.parse(out.trim().split('\n').pop()!);
    } catch {
      // keep the text
    }
    return { ok: false, report };
  }
}

export interface HttpReply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export function request(
  port: number,
  method: string,
  urlPath: string,
  headers: Record<string, string>,
  body?: string,
  timeoutMs = 10_000,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: urlPath, headers, agent, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export interface OrderRequest {
  customerId: bigint;
  key: string;
}

export interface BurstResult {
  /** Order ids answered 202, by idempotency key. */
  accepted: Map<string, string>;
  /** Final refusals (4xx) at intake, by code. */
  refused: Map<string, number>;
  /** The same refusals by idempotency key (its code). */
  refusedKeys: Map<string, string>;
  retries: number;
  /** Keys that never got a final answer before the deadline. */
  unanswered: number;
}

/**
 * Sends every order with `concurrency` clients over the given API ports (round robin, a client
 * moves to the next port after a connection error), retrying 503 and connection errors with the
 * same key, as a real client would.
 */
export async function burst(
  ports: () => number[],
  seedData: Seed,
  orders: OrderRequest[],
  options: { concurrency: number; deadlineMs: number; onAnswer?: () => void; onRetry?: () => void },
): Promise<BurstResult> {
  const result: BurstResult = {
    accepted: new Map(),
    refused: new Map(),
    refusedKeys: new Map(),
    retries: 0,
    unanswered: 0,
  };
  const body = JSON.stringify({
    goods_id: seedData.goodsId.toString(),
    product_id: seedData.productId.toString(),
    tenor: TENOR,
  });
  let next = 0;
  const client = async (n: number) => {
    let portIndex = n;
    while (next < orders.length) {
      const order = orders[next++]!;
      const headers = {
        authorization: `Bearer ${tokenFor(order.customerId)}`,
        'idempotency-key': order.key,
        'content-type': 'application/json',
      };
      for (;;) {
        if (Date.now() > options.deadlineMs) {
          result.unanswered++;
          break;
        }
        const list = ports();
        const port = list[portIndex % list.length]!;
        let reply: HttpReply | undefined;
        try {
          reply = await request(port, 'POST', '/v1/orders', headers, body);
        } catch {
          portIndex++;
        }
        if (reply && reply.status === 202) {
          result.accepted.set(order.key, (JSON.parse(reply.body) as { order_id: string }).order_id);
          break;
        }
        if (reply && reply.status !== 503 && reply.status !== 429) {
          const code =
            (JSON.parse(reply.body) as { error?: { code?: string } }).error?.code ?? String(reply.status);
          result.refused.set(code, (result.refused.get(code) ?? 0) + 1);
          result.refusedKeys.set(order.key, code);
          break;
        }
        result.retries++;
        options.onRetry?.();
        await new Promise((r) => setTimeout(r, reply ? 100 : 50));
      }
      options.onAnswer?.();
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, n) => client(n)));
  return result;
}

/** Waits until every accepted order id is stored (settled or rejected) or the deadline passes. */
export async function waitSettled(sql: Sql, accepted: Iterable<string>, deadlineMs: number): Promise<number> {
  const ids = [...accepted];
  for (;;) {
    const [row] = await sql<
      { n: bigint }[]
    >`select count(*)::bigint as n from orders where id = any(${ids}::bigint[])`;
    const stored = Number(row?.n ?? 0n);
    if (stored === ids.length || Date.now() > deadlineMs) return stored;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface Audit {
  acceptedIds: number;
  stored: number;
  lost: number;
  duplicateKeys: number;
  strangers: number;
  settled: number;
  rejected: number;
  overdrawn: number;
  usedMismatch: number;
  /** Orders of customers over their limit: sent, settled, and refused (at intake or by the settler). */
  overLimit: {
    customers: number;
    sent: number;
    /** Orders their lines take: the rest must be refused. */
    allowed: number;
    settled: number;
    refused: number;
    settledPastLimit: number;
  };
  /** Orders of customers whose line takes every order they send, that did not settle. */
  roomyUnsettled: number;
}

/** Each customer's orders by outcome, from the database (settled, rejected) and the burst (refused). */
async function outcomesByCustomer(
  sql: Sql,
  result: BurstResult,
  orders: OrderRequest[],
): Promise<Map<bigint, { sent: number; settled: number; refused: number }>> {
  const ids = [...result.accepted.values()];
  const rows = await sql<{ customer_id: bigint; settled: bigint; rejected: bigint }[]>`
    select customer_id, count(*) filter (where status = 'settled')::bigint as settled,
      count(*) filter (where status = 'rejected')::bigint as rejected
    from orders where id = any(${ids}::bigint[]) group by customer_id`;
  const byCustomer = new Map<bigint, { sent: number; settled: number; refused: number }>();
  for (const order of orders) {
    const entry = byCustomer.get(order.customerId) ?? { sent: 0, settled: 0, refused: 0 };
    entry.sent += 1;
    if (result.refusedKeys.has(order.key)) entry.refused += 1;
    byCustomer.set(order.customerId, entry);
  }
  for (const row of rows) {
    const entry = byCustomer.get(row.customer_id)!;
    entry.settled += Number(row.settled);
    entry.refused += Number(row.rejected);
  }
  return byCustomer;
}

/**
 * What every fault test proves: each 202 id is stored exactly once, no order exists that was not
 * answered 202, no line is overdrawn, used credit equals open principal, and each customer's
 * orders ended as their line allows (whether intake or the settler refused the ones past it).
 */
export async function audit(
  sql: Sql,
  result: BurstResult,
  data: Seed,
  orders: OrderRequest[],
): Promise<Audit> {
  const ids = [...result.accepted.values()];
  const [counts] = await sql<
    { stored: bigint; settled: bigint; rejected: bigint; total: bigint; dup_keys: bigint }[]
  >`
    select
      (select count(*) from orders where id = any(${ids}::bigint[]))::bigint as stored,
      (select count(*) from orders where id = any(${ids}::bigint[]) and status = 'settled')::bigint as settled,
      (select count(*) from orders where id = any(${ids}::bigint[]) and status = 'rejected')::bigint as rejected,
      (select count(*) from orders)::bigint as total,
      (select count(*) from (select customer_id, idempotency_key from orders group by 1, 2 having count(*) > 1) d)::bigint
        as dup_keys`;
  const [lines] = await sql<{ overdrawn: bigint; mismatch: bigint }[]>`
    with owed as (
      select l.customer_id, sum(i.principal_minor - i.paid_principal_minor) as principal
      from loans l join installments i on i.customer_id = l.customer_id and i.loan_id = l.id
      where l.status = 'active' group by l.customer_id
    )
    select count(*) filter (where c.used_minor > c.limit_minor)::bigint as overdrawn,
      count(*) filter (where c.used_minor <> coalesce(o.principal, 0))::bigint as mismatch
    from credit_lines c left join owed o on o.customer_id = c.customer_id`;
  const stored = Number(counts!.stored);
  const overLimit = { customers: 0, sent: 0, allowed: 0, settled: 0, refused: 0, settledPastLimit: 0 };
  let roomyUnsettled = 0;
  for (const [customerId, o] of await outcomesByCustomer(sql, result, orders)) {
    if (!data.tight.has(customerId)) {
      roomyUnsettled += o.sent - o.settled;
      continue;
    }
    overLimit.customers += 1;
    overLimit.sent += o.sent;
    overLimit.allowed += Math.min(o.sent, data.tightOrders);
    overLimit.settled += o.settled;
    overLimit.refused += o.refused;
    overLimit.settledPastLimit += Math.max(0, o.settled - data.tightOrders);
  }
  return {
    acceptedIds: new Set(ids).size,
    stored,
    lost: ids.length - stored,
    duplicateKeys: Number(counts!.dup_keys),
    strangers: Number(counts!.total) - stored,
    settled: Number(counts!.settled),
    rejected: Number(counts!.rejected),
    overdrawn: Number(lines!.overdrawn),
    usedMismatch: Number(lines!.mismatch),
    overLimit,
    roomyUnsettled,
  };
}

/**
 * Liveness bounds, not timings: a sale on a loaded machine may take long, and only a stuck one
 * should hit them (each fault test's assertions hold whatever the load).
 */
export const SALE_BURST_DEADLINE_MS = 180_000;
export const SALE_SETTLE_DEADLINE_MS = 120_000;
/** How long a fault is held at most while waiting for clients to notice it. */
export const FAULT_NOTICED_DEADLINE_MS = 60_000;

/** Polls `check` every 50 ms until it holds; false if `deadlineMs` from now passes first. */
export async function until(check: () => boolean | Promise<boolean>, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Customers seeded for a fault test's sale; every tenth can afford only two orders. */
export const SALE_CUSTOMERS = 400;

/** What every fault test stands on: its own servers, a pool, and the seeded customers. */
export interface SaleStage {
  servers: Servers;
  sql: Sql;
  data: Seed;
  close(): Promise<void>;
}

export async function openSaleStage(options: { cache?: CacheKind } = {}): Promise<SaleStage> {
  const servers = await startServers(undefined, options.cache);
  const sql = connect(servers);
  try {
    const data = await seed(sql, SALE_CUSTOMERS, { tightEvery: 10, tightOrders: 2 });
    return {
      servers,
      sql,
      data,
      async close() {
        await sql.end({ timeout: 2 });
        await servers.destroy();
      },
    };
  } catch (err) {
    await sql.end({ timeout: 2 });
    await servers.destroy();
    throw err;
  }
}

export function connect(servers: Servers, max = 4): Sql {
  return connectPostgres(servers.pg.url, max, 'fenqi-flash-test');
}

/** Orders for `customers`, `perCustomer` each, interleaved so one customer's orders spread out. */
export function ordersFor(customers: bigint[], perCustomer: number, prefix: string): OrderRequest[] {
  const out: OrderRequest[] = [];
  for (let round = 0; round < perCustomer; round++) {
    for (const customerId of customers) out.push({ customerId, key: `${prefix}-${customerId}-${round}` });
  }
  return out;
}

export interface SaleRun {
  result: BurstResult;
  audit: Audit;
  ledgerOk: boolean;
  ledgerReport: Record<string, unknown>;
  apis: Proc[];
  workers: Proc[];
}

/** A sale's figures for a test's log: what was sent, accepted, settled, lost, and whether the books balance. */
export function saleSummary(sale: Pick<SaleRun, 'result' | 'audit' | 'ledgerOk'>, orders: number) {
  const { result, audit: a } = sale;
  return {
    orders,
    accepted: result.accepted.size,
    refusedAtIntake: [...result.refused.values()].reduce((x, y) => x + y, 0),
    unanswered: result.unanswered,
    lost: a.lost,
    duplicateKeys: a.duplicateKeys,
    strangers: a.strangers,
    settled: a.settled,
    rejected: a.rejected,
    overdrawn: a.overdrawn,
    linesOutOfStep: a.usedMismatch,
    ledgerBalanced: sale.ledgerOk,
  };
}

/**
 * One fault scenario: `apis` API and `workers` worker processes, a burst of orders, `fault` run once
 * `faultAt` answers are in (it may change the live API ports), then wait for settlement and audit.
 */
export async function saleRun(
  servers: Servers,
  sql: Sql,
  data: Seed,
  options: {
    apis: number;
    workers: number;
    perCustomer: number;
    faultAt: number;
    fault: (run: {
      apis: Proc[];
      workers: Proc[];
      alive: Set<number>;
      env: NodeJS.ProcessEnv;
      /** Retries clients have made so far (503s and dropped connections). */
      retries: () => number;
    }) => Promise<void>;
    settleTimeoutMs?: number;
    /** How long the burst may take (default SALE_BURST_DEADLINE_MS; bigger sales give more). */
    burstTimeoutMs?: number;
  },
): Promise<SaleRun> {
  const env = serviceEnv(servers);
  const apis = await Promise.all(Array.from({ length: options.apis }, () => startApi(env)));
  const workers = await Promise.all(Array.from({ length: options.workers }, () => startWorker(env)));
  const alive = new Set(apis.map((a) => a.port));
  let answered = 0;
  let retries = 0;
  let faultDone: Promise<void> = Promise.resolve();
  const orders = ordersFor(data.customers, options.perCustomer, 'sale');
  const result = await burst(() => [...alive], data, orders, {
    concurrency: 64,
    deadlineMs: Date.now() + (options.burstTimeoutMs ?? SALE_BURST_DEADLINE_MS),
    onAnswer: () => {
      if (++answered === options.faultAt)
        faultDone = options.fault({ apis, workers, alive, env, retries: () => retries });
    },
    onRetry: () => {
      retries += 1;
    },
  });
  await faultDone;
  await waitSettled(
    sql,
    result.accepted.values(),
    Date.now() + (options.settleTimeoutMs ?? SALE_SETTLE_DEADLINE_MS),
  );
  const a = await audit(sql, result, data, orders);
  const check = ledgerCheck(servers.pg.url);
  await Promise.allSettled([...apis, ...workers].map((p) => p.kill('SIGTERM')));
  return { result, audit: a, ledgerOk: check.ok, ledgerReport: check.report, apis, workers };
}

/**
 * What every fault test proves after its sale: each order answered 202 is stored exactly once,
 * settled or rejected; nothing else is stored; every order past a customer's limit was refused
 * (by intake or by the settler, whichever saw it first: that depends on timing, the sum does not)
 * and every other order settled; no line is overdrawn or out of step with its loans; and the books
 * balance.
 */
export function assertSaleKeptEveryOrder(
  result: BurstResult,
  a: Audit,
  ledger: { ok: boolean; report: Record<string, unknown> },
): void {
  assert.equal(result.unanswered, 0);
  assert.ok(result.accepted.size > 1_500, `accepted ${result.accepted.size}`);
  assert.equal(a.lost, 0);
  assert.equal(a.acceptedIds, result.accepted.size, 'one order id per key');
  assert.equal(a.duplicateKeys, 0);
  assert.equal(a.strangers, 0, 'no order stored that was not answered 202');
  assert.ok(a.overLimit.customers > 0, 'the sale has customers who go over their limit');
  assert.equal(a.overLimit.settledPastLimit, 0, 'no customer settled more orders than the line takes');
  assert.equal(
    a.overLimit.settled + a.overLimit.refused,
    a.overLimit.sent,
    `every order of a customer over the limit ended settled or refused: ${JSON.stringify(a.overLimit)}`,
  );
  assert.ok(
    a.overLimit.refused >= a.overLimit.sent - a.overLimit.allowed,
    `orders past the limit were refused: ${JSON.stringify(a.overLimit)}`,
  );
  assert.equal(a.roomyUnsettled, 0, 'every order of a customer within the limit settled');
  assert.equal(a.overdrawn, 0);
  assert.equal(a.usedMismatch, 0);
  assert.ok(ledger.ok, JSON.stringify(ledger.report).slice(0, 2000));
}
