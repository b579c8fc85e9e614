import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { stopChild, tempDir } from '../harness/process.ts';

/** PGlite start-up (WASM compile and initdb on first run) is the slow part. */
const START_TIMEOUT_MS = 90_000;

describe('npm start on embedded defaults (no services)', () => {
  let child: ChildProcess;
  let baseUrl: string;
  let printed = '';

  before(async () => {
    const dataDir = tempDir('embedded');
    // No DATABASE_URL, REDIS_URL or NATS_URL: the README's run command as a newcomer would run it.
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
        const match = /API:\s+(http:\/\/\S+)/.exec(output);
        if (match) {
          printed = output;
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`fenqi start exited with ${code}:\n${output}`)));
    });
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
  test('the demo customer applies for credit and gets a stored decision (batched statements on PGlite)', async () => {
    // the demo log-ins may come in a later chunk than the URL line (onData keeps `printed` current)
    for (let i = 0; i < 50 && !/customer\s+phone/.test(printed); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const login = /customer\s+phone (\S+)\s+password (\S+)/.exec(printed);
    assert.ok(login, `demo customer log-in printed:\n${printed}`);
    const auth = await fetch(`${baseUrl}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: login[1], password: login[2] }),
    });
    assert.equal(auth.status, 200);
    const { access_token: token } = (await auth.json()) as { access_token: string };
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const applied = await fetch(`${baseUrl}/v1/credit-applications`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        stated_income: '12000.00',
        purpose: 'goods',
        device_id: 'embedded-test-device',
      }),
    });
    const decision = (await applied.json()) as { id: string; decision: string };
    assert.equal(applied.status, 200, JSON.stringify(decision));
    assert.ok(['approve', 'decline', 'refer'].includes(decision.decision));
    const stored = await fetch(`${baseUrl}/v1/credit-applications/${decision.id}`, { headers });
    assert.equal(stored.status, 200);
    assert.equal(((await stored.json()) as { decision: string }).decision, decision.decision);
  });
});
