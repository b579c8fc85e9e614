import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { trainBootstrap } from '../../src/risk/service/bootstrap.ts';
import { stopChild, tempDir } from '../harness/process.ts';

/** PGlite start-up (WASM compile and initdb on first run) is the slow part. */
const START_TIMEOUT_MS = 90_000;

describe('npm start on embedded defaults (no services)', () => {
  let child: ChildProcess;
  let baseUrl: string;
  let printed = '';
  let dataDir: string;

  const logIn = async (body: object): Promise<Record<string, string>> => {
    const res = await fetch(`${baseUrl}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    const { access_token: token } = (await res.json()) as { access_token: string };
    return { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  };
  const demoLogin = async (pattern: RegExp): Promise<RegExpExecArray> => {
    // the demo log-ins may come in a later chunk than the URL line (onData keeps `printed` current)
    for (let i = 0; i < 50 && !pattern.test(printed); i++) await new Promise((r) => setTimeout(r, 100));
    const login = pattern.exec(printed);
    assert.ok(login, `demo log-in printed:\n${printed}`);
    return login;
  };

  /** `fenqi start` on the data directory, as a newcomer runs it: no DATABASE_URL, REDIS_URL or NATS_URL. */
  const start = async (): Promise<void> => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', FENQI_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    delete env.DATABASE_URL;
    delete env.REDIS_URL;
    delete env.NATS_URL;
    child = spawn('./bin/fenqi', ['start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no URL printed in time:\n${output}`)),
        START_TIMEOUT_MS,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (/demo log-ins/.test(output)) printed = output;
        const match = /API:\s+(http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`fenqi start exited with ${code}:\n${output}`)));
    });
  };

  before(async () => {
    dataDir = tempDir('embedded');
    await start();
  });
  after(async () => {
    if (child) await stopChild(child, 'SIGTERM');
  });

  test('GET /health answers 200', async () => {
    const res = await fetch(`${baseUrl}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  test('GET /ready reports PGlite, the in-process cache and the in-process queue all up', async () => {
    const res = await fetch(`${baseUrl}/ready`);
    const body = (await res.json()) as {
      status: string;
      parts: Record<string, { up: boolean; kind: string }>;
    };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ready');
    assert.deepEqual(Object.fromEntries(Object.entries(body.parts).map(([k, v]) => [k, [v.up, v.kind]])), {
      database: [true, 'pglite'],
      cache: [true, 'memory'],
      queue: [true, 'memory'],
    });
  });

  test('the OpenAPI document and browsable docs are served', async () => {
    const doc = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as { openapi: string; paths: object };
    assert.equal(doc.openapi, '3.1.0');
    assert.ok('/ready' in doc.paths);
    assert.equal((await fetch(`${baseUrl}/docs/`)).status, 200);
  });

  test('an unknown route and malformed JSON both get the one error shape with a stable code', async () => {
    const missing = await fetch(`${baseUrl}/v1/nothing-here`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'ROUTE_NOT_FOUND');
    const bad = await fetch(`${baseUrl}/health`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"oops"',
    });
    assert.ok(bad.status >= 400 && bad.status < 500);
    const body = (await bad.json()) as { error: { code: string; message: string; details: object } };
    assert.equal(typeof body.error.code, 'string');
    assert.ok(bad.headers.get('x-request-id'));
  });
  test('the demo customer is approved by the bootstrap champion trained on the German credit data in the repository', async () => {
    const login = await demoLogin(/customer\s+phone (\S+)\s+password (\S+)/);
    const headers = await logIn({ phone: login[1], password: login[2] });
    const applied = await fetch(`${baseUrl}/v1/credit-applications`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        stated_income: '12000.00',
        purpose: 'goods',
        device_id: 'embedded-test-device',
      }),
    });
    const decision = (await applied.json()) as {
      id: string;
      decision: string;
      model_version: number;
      degraded: string[];
    };
    assert.equal(applied.status, 200, JSON.stringify(decision));
    // Every deployment asks the providers about the same person and decides with the same champion,
    // so the demo customer is approved everywhere; only a source that missed its latency budget (a
    // busy machine's cold start) turns that into a referral, by design, and the answer says so.
    const expected = decision.degraded.length === 0 ? 'approve' : 'refer';
    assert.equal(decision.decision, expected, JSON.stringify(decision));
    const stored = await fetch(`${baseUrl}/v1/credit-applications/${decision.id}`, { headers });
    assert.equal(stored.status, 200);
    assert.equal(((await stored.json()) as { decision: string }).decision, decision.decision);

    const risk = await demoLogin(/risk\s+username (\S+)\s+password (\S+)/);
    const models = (await (
      await fetch(`${baseUrl}/v1/risk/models`, {
        headers: await logIn({ username: risk[1], password: risk[2] }),
      })
    ).json()) as { items: { version: number; role: string; source: string; metrics: { auc: number } }[] };
    const champion = models.items.find((m) => m.role === 'champion');
    assert.ok(champion, JSON.stringify(models));
    assert.equal(decision.model_version, champion.version);
    assert.equal(champion.source, 'bootstrap');
    // trained here from the same file, the champion's cross-validated figures are the same
    const here = trainBootstrap().model.metrics;
    assert.equal(champion.metrics.auc, (here.cv?.mean ?? here.training).auc);
  });

  test('a second process on the same data directory is refused with the holder pid and exit code 2', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, FENQI_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    delete env.DATABASE_URL;
    for (const args of [['cob', '--date', '2026-12-01'], ['ledger', 'check'], ['start']]) {
      const second = spawnSync('./bin/fenqi', args, { env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(second.status, 2, `fenqi ${args.join(' ')}: ${second.stderr}`);
      const lines = second.stderr.trim().split('\n');
      assert.equal(lines.length, 1, second.stderr);
      assert.match(lines[0]!, new RegExp(`in use by fenqi pid ${child.pid} \\(fenqi start\\)`));
      assert.ok(lines[0]!.includes(baseUrl), lines[0]);
    }
  });

  test('everything under the data directory is readable by its owner only', () => {
    const loose: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        const mode = statSync(full).mode & 0o777;
        if (mode !== (entry.isDirectory() ? 0o700 : 0o600)) loose.push(`${mode.toString(8)} ${full}`);
        if (entry.isDirectory()) walk(full);
      }
    };
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    walk(dataDir);
    assert.deepEqual(loose.slice(0, 20), [], `${loose.length} entries readable by others`);
  });

  test('a close of business sent through the API of the running platform is done there and kept after a restart', async () => {
    const ops = await demoLogin(/ops\s+username (\S+)\s+password (\S+)/);
    // a business date after any the platform closed by itself: this close is the CLI's doing
    const date = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      FENQI_DATA_DIR: dataDir,
      FENQI_PASSWORD: ops[2],
      LOG_LEVEL: 'warn',
    };
    delete env.DATABASE_URL;
    const closed = spawnSync(
      './bin/fenqi',
      ['cob', '--date', date, '--api', baseUrl, '--username', ops[1]!, '--json'],
      { env, encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(closed.status, 0, closed.stderr);
    const summary = JSON.parse(closed.stdout.trim().split('\n').pop()!) as { cob: string; ran: boolean };
    assert.deepEqual([summary.cob, summary.ran], [date, true]);

    await stopChild(child, 'SIGTERM');
    await start();
    const res = await fetch(`${baseUrl}/v1/ops/cob/${date}`, {
      headers: await logIn({ username: ops[1], password: ops[2] }),
    });
    const status = (await res.json()) as { status: string };
    assert.equal(res.status, 200, JSON.stringify(status));
    assert.equal(status.status, 'completed');
  });
});
