import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signAccessToken } from '../../src/api/auth.ts';
import type { Api } from '../../src/api/server.ts';
import { buildApi } from '../../src/api/server.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import { type NatsServer, startNats } from '../harness/nats.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { tempDir } from '../harness/process.ts';
import { type RedisServer, startRedis } from '../harness/redis.ts';

/** The bound: /ready must flip within 2 s of a part going down or coming back. */
const FLIP_WITHIN_MS = 2_000;

interface ReadyBody {
  status: string;
  parts: Record<string, { up: boolean; kind: string }>;
}

describe('/ready against real PostgreSQL, Redis and NATS', () => {
  let pg: PostgresServer;
  let redis: RedisServer;
  let nats: NatsServer;
  let platform: Platform;
  let app: Api;

  const ready = async () => {
    const res = await app.inject({ method: 'GET', url: '/ready' });
    return { statusCode: res.statusCode, body: res.json() as ReadyBody };
  };

  /** Polls /ready until `predicate` holds; returns how long it took. */
  const until = async (predicate: (b: ReadyBody, code: number) => boolean, budgetMs: number) => {
    const started = Date.now();
    for (;;) {
      const { statusCode, body } = await ready();
      if (predicate(body, statusCode)) return Date.now() - started;
      if (Date.now() - started > budgetMs) {
        assert.fail(`/ready did not reach the expected state in ${budgetMs} ms: ${JSON.stringify(body)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    [pg, redis, nats] = await Promise.all([startPostgres(), startRedis(), startNats()]);
    const config = loadConfig({
      ...pg.env(),
      ...redis.env(),
      ...nats.env(),
      FENQI_DATA_DIR: tempDir('ready'),
      LOG_LEVEL: 'silent',
    });
    platform = await openPlatform(config, createLogger('silent'));
    app = await buildApi(platform);
    await until((b) => b.status === 'ready', 10_000);
  });
  after(async () => {
    await app?.close();
    await platform?.close();
    await Promise.allSettled([pg?.destroy(), redis?.destroy(), nats?.destroy()]);
  });

  test('all parts up reports ready with each real part named', async () => {
    const { statusCode, body } = await ready();
    assert.equal(statusCode, 200);
    assert.deepEqual(Object.fromEntries(Object.entries(body.parts).map(([k, v]) => [k, [v.up, v.kind]])), {
      database: [true, 'postgresql'],
      cache: [true, 'redis'],
      queue: [true, 'nats'],
    });
  });

  for (const part of ['database', 'cache', 'queue'] as const) {
    test(`${part} down turns /ready not-ready within 2 s, and back up turns it ready without a restart`, async (t) => {
      const server = { database: () => pg, cache: () => redis, queue: () => nats }[part]();
      await server.stop();
      const downMs = await until((b, code) => code === 503 && b.parts[part]?.up === false, FLIP_WITHIN_MS);
      const { body } = await ready();
      for (const other of ['database', 'cache', 'queue'].filter((p) => p !== part)) {
        assert.equal(body.parts[other]?.up, true, `${other} should stay up while ${part} is down`);
      }
      await server.start();
      // Reconnect backoff is bounded (≤1 s for Redis and NATS, immediate for PostgreSQL).
      const upMs = await until((b, code) => code === 200 && b.status === 'ready', 10_000);
      t.diagnostic(`${part}: not-ready after ${downMs} ms, ready again ${upMs} ms after restart`);
    });
  }

  test('with the database down a route that needs it answers 503 DATABASE_UNAVAILABLE with Retry-After, never 500', async () => {
    const token = signAccessToken(platform.config.tokenSecret, { role: 'customer', id: 1n }, 60);
    await pg.stop();
    try {
      const res = await app.inject({
        method: 'GET',
        url: '/v1/customers/me',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.statusCode, 503, res.body);
      assert.equal(res.json().error.code, 'DATABASE_UNAVAILABLE');
      assert.equal(res.headers['retry-after'], '1');
    } finally {
      await pg.start();
      await until((b, code) => code === 200 && b.status === 'ready', 10_000);
    }
  });

  test('/health stays 200 (liveness) and /metrics is Prometheus text with the queue gauges', async () => {
    assert.equal((await app.inject('/health')).statusCode, 200);
    const metrics = await app.inject('/metrics');
    assert.match(metrics.body, /fenqi_http_request_duration_seconds_bucket/);
    assert.match(metrics.body, /fenqi_readiness_checks_total\{part="database"\}/);
    // read from NATS at scrape time: the dead letters an operator alerts on, and the backlog
    assert.match(metrics.body, /fenqi_queue_stream_messages\{stream="FENQI_DEAD"\} 0/);
    assert.match(
      metrics.body,
      /fenqi_queue_consumer_pending\{stream="FENQI_ORDERS",consumer="order-settler"\} \d+/,
    );
  });
});
