/**
 * Issue 14 finding 9 and item 7: real mode never makes up keys. Without them it refuses to start
 * (unless told otherwise in so many words); keys come from the environment or from files only
 * their owner may read; two API processes on one database holding the same keys agree on tokens,
 * blind indexes and ciphertext.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEV_GENERATE_KEYS_CONSENT, DEV_GENERATE_KEYS_VARIABLE, KEY_VARIABLES } from '../../src/config.ts';
import { type Proc, startApi } from '../flash/lab.ts';
import { runFenqi } from '../harness/cli.ts';
import { platformKeysEnv } from '../harness/keys.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { removeTempDir, tempDir } from '../harness/process.ts';
import { personFor } from '../identity/support.ts';

const KEY_NAMES = Object.values(KEY_VARIABLES);
/** Generous for a process that exits at once; a process that starts is killed after it. */
const START_REFUSAL_TIMEOUT_MS = 60_000;

/** Each key in its own file with the given mode: the `*_FILE` variables naming them. */
function keyFiles(dir: string, mode: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(platformKeysEnv())) {
    const file = path.join(dir, `${name.toLowerCase()}.key`);
    writeFileSync(file, `${value}\n`, { mode });
    chmodSync(file, mode);
    env[`${name}_FILE`] = file;
  }
  return env;
}

/** The process environment minus any key a developer's shell may hold. */
function withoutKeys(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of KEY_NAMES) {
    delete env[name];
    delete env[`${name}_FILE`];
  }
  delete env[DEV_GENERATE_KEYS_VARIABLE];
  return env;
}

async function call(proc: Proc, method: string, url: string, body?: unknown, token?: string) {
  const res = await fetch(`http://127.0.0.1:${proc.port}${url}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('real mode and its keys', () => {
  let pg: PostgresServer;
  const dirs: string[] = [];
  const procs: Proc[] = [];
  const dir = () => {
    const d = tempDir('keys');
    dirs.push(d);
    return d;
  };

  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await Promise.allSettled(procs.map((p) => p.kill()));
    await pg?.destroy();
    for (const d of dirs) removeTempDir(d);
  });

  const urls = () => ({
    DATABASE_URL: pg.env().DATABASE_URL,
    MIGRATION_DATABASE_URL: pg.env().MIGRATION_DATABASE_URL,
  });

  test('fenqi api in real mode without keys refuses to start, naming the key and the development flag', () => {
    // bounded: a process that starts anyway (the bug) must fail the test, not hang it
    const run = spawnSync('./bin/fenqi', ['api'], {
      env: { ...withoutKeys(), ...urls(), PORT: '0', FENQI_DATA_DIR: dir() },
      encoding: 'utf8',
      timeout: START_REFUSAL_TIMEOUT_MS,
    });
    assert.equal(run.status, 2, run.stdout + run.stderr);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, /FENQI_TOKEN_SECRET/);
    assert.match(lines[0]!, new RegExp(DEV_GENERATE_KEYS_VARIABLE));
  });

  test('a development flag that does not say it in so many words is no consent', async () => {
    const run = await runFenqi(['migrate'], {
      ...withoutKeys(),
      ...urls(),
      [DEV_GENERATE_KEYS_VARIABLE]: 'yes',
      FENQI_DATA_DIR: dir(),
    });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /FENQI_TOKEN_SECRET/);
  });

  test('with the development consent spelled out, real mode generates its keys into its data directory', async () => {
    const run = await runFenqi(['migrate'], {
      ...withoutKeys(),
      ...urls(),
      [DEV_GENERATE_KEYS_VARIABLE]: DEV_GENERATE_KEYS_CONSENT,
      FENQI_DATA_DIR: dir(),
    });
    assert.equal(run.code, 0, run.stderr);
  });

  test('a key file that group or others may read is refused, naming its variable', async () => {
    const files = keyFiles(dir(), 0o640);
    const run = await runFenqi(['migrate'], { ...withoutKeys(), ...urls(), ...files, FENQI_DATA_DIR: dir() });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /FENQI_\w+_FILE .*readable by group or others/);
  });

  test('two API processes on one database with the same key files: log in on one, read on the other', async () => {
    const files = keyFiles(dir(), 0o600);
    const env = { ...withoutKeys(), ...urls(), ...files, LOG_LEVEL: 'warn' };
    const a = await startApi({ ...env, FENQI_DATA_DIR: dir() });
    procs.push(a);
    const b = await startApi({ ...env, FENQI_DATA_DIR: dir() });
    procs.push(b);
    const person = personFor(9001);
    const registered = await call(a, 'POST', '/v1/customers', person);
    assert.equal(registered.status, 201, JSON.stringify(registered.json));
    const login = await call(a, 'POST', '/v1/auth/login', { phone: person.phone, password: person.password });
    assert.equal(login.status, 200, JSON.stringify(login.json));
    const token = login.json.access_token as string;

    const me = await call(b, 'GET', '/v1/customers/me', undefined, token);
    assert.equal(me.status, 200, JSON.stringify(me.json));
    assert.equal(me.json.id, registered.json.id);
    assert.equal(me.json.phone, person.phone, 'the other process decrypts what this one encrypted');
    const loginOnB = await call(b, 'POST', '/v1/auth/login', {
      phone: person.phone,
      password: person.password,
    });
    assert.equal(loginOnB.status, 200, 'the blind index agrees across processes');
    const again = await call(b, 'POST', '/v1/customers', person);
    assert.equal(again.status, 409);
    assert.equal(
      (again.json.error as { code: string }).code,
      'PHONE_TAKEN',
      'the same phone cannot register twice through another process',
    );
  });
});
