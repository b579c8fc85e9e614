import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { tempDir } from '../harness/process.ts';

const dataDir = tempDir('config');
const HEX_KEY = 'ab'.repeat(32);

describe('configuration', () => {
  test('no variables at all gives the embedded defaults with keys generated once and kept', () => {
    const a = loadConfig({ FENQI_DATA_DIR: dataDir });
    assert.equal(a.mode, 'embedded');
    assert.equal(a.port, 3000);
    assert.equal(a.databaseUrl, undefined);
    const b = loadConfig({ FENQI_DATA_DIR: dataDir });
    assert.deepEqual(b.dataKeys, a.dataKeys, 'embedded keys must survive a restart');
    assert.deepEqual(b.queueMacKeys, a.queueMacKeys, 'the queue MAC key too');
  });

  test('embedded keys that group or others may read are refused, naming the data directory', () => {
    const dir = tempDir('config-shared');
    loadConfig({ FENQI_DATA_DIR: dir });
    chmodSync(path.join(dir, 'secrets.json'), 0o644);
    assert.throws(
      () => loadConfig({ FENQI_DATA_DIR: dir }),
      (err: unknown) =>
        err instanceof ConfigError && err.variable === 'FENQI_DATA_DIR' && /chmod 600/.test(err.message),
    );
  });

  test('real mode follows DATABASE_URL and parses versioned data keys', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/fenqi',
      REDIS_URL: 'redis://127.0.0.1:6379',
      NATS_URL: 'nats://127.0.0.1:4222,nats://127.0.0.1:4223',
      FENQI_DATA_KEYS: `1:${HEX_KEY},2:${Buffer.alloc(32, 7).toString('base64')}`,
      FENQI_TOKEN_SECRET: HEX_KEY,
      FENQI_BLIND_INDEX_KEY: HEX_KEY,
      FENQI_QUEUE_MAC_KEYS: `1:${HEX_KEY},2:${HEX_KEY}`,
    });
    assert.equal(config.mode, 'real');
    assert.deepEqual([...config.dataKeys.keys()], [1, 2]);
    assert.deepEqual([...config.queueMacKeys.keys()], [1, 2]);
  });

  test('a DATABASE_URL with several hosts (libpq multi-host, as ops up prints it) is accepted as given', () => {
    const url = 'postgres://u:p@127.0.0.1:5432,127.0.0.1:5433/fenqi?target_session_attrs=primary';
    const config = loadConfig({ FENQI_MODE: 'embedded', DATABASE_URL: url, MIGRATION_DATABASE_URL: url });
    assert.equal(config.databaseUrl, url);
  });

  test('REDIS_CLUSTER_NODES gives the seeds of a Redis Cluster and needs REDIS_URL for user and TLS', () => {
    const config = loadConfig({
      FENQI_DATA_DIR: dataDir,
      REDIS_URL: 'rediss://fenqi_app:pw@cache-1:6380',
      REDIS_CLUSTER_NODES: 'cache-2:6380, 10.0.0.3:6381,[::1]:7000',
    });
    assert.deepEqual(config.redisClusterNodes, [
      { host: 'cache-2', port: 6380 },
      { host: '10.0.0.3', port: 6381 },
      { host: '::1', port: 7000 },
    ]);
    assert.equal(loadConfig({ FENQI_DATA_DIR: dataDir }).redisClusterNodes, undefined);
    assert.throws(
      () => loadConfig({ FENQI_DATA_DIR: dataDir, REDIS_CLUSTER_NODES: 'cache-2:6380' }),
      (err: unknown) => err instanceof ConfigError && err.variable === 'REDIS_URL',
    );
  });

  test('FENQI_TRUSTED_PROXIES takes addresses and CIDR ranges; unset trusts no proxy', () => {
    assert.deepEqual(loadConfig({ FENQI_DATA_DIR: dataDir }).trustedProxies, []);
    const config = loadConfig({
      FENQI_DATA_DIR: dataDir,
      FENQI_TRUSTED_PROXIES: ' 10.0.0.0/8, 192.0.2.7 ,fd00::/8',
    });
    assert.deepEqual(config.trustedProxies, ['10.0.0.0/8', '192.0.2.7', 'fd00::/8']);
  });

  const malformed: [string, string][] = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'not a url'],
    ['DATABASE_URL', 'mysql://127.0.0.1/x'],
    ['REDIS_URL', 'http://127.0.0.1'],
    ['NATS_URL', 'nats://127.0.0.1:4222,::bad'],
    ['LOG_LEVEL', 'loud'],
    ['FENQI_SALE_MODE', 'maybe'],
    ['FENQI_DATA_KEYS', '1:short'],
    ['FENQI_TOKEN_SECRET', 'tooshort'],
    ['FENQI_MODE', 'cloud'],
    ['DATABASE_URL', 'postgres://a:5432,b:5432/fenqi?target_session_attrs=read-write'],
    ['FENQI_BUSINESS_TIMEZONE', 'Mars/Olympus'],
    ['NATS_STREAM_REPLICAS', '0'],
    ['NATS_STREAM_REPLICAS', 'three'],
    ['REDIS_CLUSTER_NODES', '127.0.0.1'],
    ['REDIS_CLUSTER_NODES', 'cache-1:6380,cache-2:99999'],
    ['REDIS_CLUSTER_NODES', 'redis://cache-1:6380'],
    ['FENQI_TRUSTED_PROXIES', 'lb.internal'],
    ['FENQI_TRUSTED_PROXIES', '10.0.0.0/33'],
    ['FENQI_TRUSTED_PROXIES', '10.0.0.1,loopback'],
    ['FENQI_TRUSTED_PROXIES', '10.0.0.0/8/1'],
  ];
  for (const [variable, value] of malformed) {
    test(`${variable}=${JSON.stringify(value)} is refused with an error naming ${variable}`, () => {
      assert.throws(
        () => loadConfig({ FENQI_DATA_DIR: dataDir, [variable]: value }),
        (err: unknown) =>
          err instanceof ConfigError && err.variable === variable && err.message.includes(variable),
      );
    });
  }

  test('fenqi start with a malformed variable exits 2 printing one line that names it', () => {
    const result = spawnSync('./bin/fenqi', ['start'], {
      env: { ...process.env, PORT: 'eighty', FENQI_DATA_DIR: dataDir },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(result.status, 2);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /PORT/);
  });
});
