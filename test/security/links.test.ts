/**
 * Every link inside the platform is authenticated and encrypted (issue 14, docs/security.md): on
 * the servers the harness starts — as production runs them — a connection without credentials,
 * with wrong ones, or in plaintext is refused by PostgreSQL, Redis and NATS; each fenqi role holds
 * only the rights it needs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { connect } from '@nats-io/transport-node';
import { generateDevCerts } from '../../src/link/certs.ts';
import { readTls } from '../../src/link/tls.ts';
import {
  JetStreamQueue,
  ORDER_SETTLER,
  ORDERS_STREAM,
  ORDERS_SUBJECT,
  platformConsumers,
  platformStreams,
} from '../../src/queue/index.ts';
import { openPostgres } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { runFenqi } from '../harness/cli.ts';
import { type NatsServer, startNats } from '../harness/nats.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { tempDir } from '../harness/process.ts';
import { type RedisServer, startRedis } from '../harness/redis.ts';

/** How long a refused plaintext peer may take to hang up (a bound on waiting, not a timing claim). */
const HANG_UP_WITHIN_MS = 5_000;

/** Writes `request` on a socket and collects what comes back until the peer closes it. */
function exchange(socket: net.Socket, request: string, onFirstData = false): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    let sent = false;
    const send = () => {
      if (sent) return;
      sent = true;
      socket.write(request);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`peer kept the connection open; received: ${received}`));
    }, HANG_UP_WITHIN_MS);
    socket.on('data', (d) => {
      received += d.toString();
      if (onFirstData) send();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    if (!onFirstData) socket.once(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', send);
  });
}

/** The SQLSTATE a statement or connection fails with ('none' if it succeeds). */
async function sqlState(url: string, statement = 'select 1'): Promise<string> {
  const sql = openPostgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql.unsafe(statement);
    return 'none';
  } catch (err) {
    return String((err as { code?: string }).code ?? (err as Error).message);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

const withPassword = (url: string, password: string) =>
  url.replace(/:[^:@/]+@/, password ? `:${password}@` : '@');

describe('PostgreSQL: scram-sha-256 over TLS only, and a role per job', () => {
  let pg: PostgresServer;
  before(async () => {
    pg = await startPostgres();
    const owner = openPostgres(pg.url, { max: 1, onnotice: () => {} });
    await migrate(owner as never).finally(() => owner.end());
  });
  after(async () => pg?.destroy());

  test('the app role with its password over verified TLS connects', async () => {
    assert.equal(await sqlState(pg.appUrl), 'none');
  });

  test('no password, a wrong password or an unknown role is refused (28P01)', async () => {
    assert.equal(await sqlState(withPassword(pg.appUrl, '')), '28P01');
    assert.equal(await sqlState(withPassword(pg.appUrl, 'wrong-password')), '28P01');
    assert.equal(await sqlState(pg.appUrl.replace(/fenqi_app:/, 'nobody:')), '28P01');
  });

  test('plaintext with the right password is refused: only hostssl lines exist (28000)', async () => {
    const plain = pg.appUrl.replace('sslmode=verify-full', 'sslmode=disable');
    assert.equal(await sqlState(plain), '28000');
    assert.equal(await sqlState(pg.adminUrl.replace('sslmode=verify-full', 'sslmode=disable')), '28000');
  });

  test('the client refuses a server its CA did not sign (verify-full)', async () => {
    const other = generateDevCerts(tempDir('other-ca'));
    const url = pg.appUrl.replace(/sslrootcert=[^&]+/, `sslrootcert=${encodeURIComponent(other.caFile)}`);
    const state = await sqlState(url);
    assert.match(state, /SELF_SIGNED_CERT|UNABLE_TO_VERIFY|certificate/i);
  });

  test('the app role reads and writes rows but cannot change the schema (42501)', async () => {
    const app = pg.appUrl;
    assert.equal(await sqlState(app, 'select count(*) from schema_migrations'), 'none');
    assert.equal(await sqlState(app, 'create table intruder (id int)'), '42501');
    assert.equal(await sqlState(app, 'drop table schema_migrations'), '42501');
    assert.equal(await sqlState(app, 'alter table schema_migrations add column x int'), '42501');
    assert.equal(await sqlState(app, 'truncate schema_migrations'), '42501');
    assert.equal(await sqlState(app, 'create role intruder superuser'), '42501');
  });

  test('the reporting role reads but cannot write', async () => {
    const report = pg.urlFor('report');
    assert.equal(await sqlState(report, 'select count(*) from schema_migrations'), 'none');
    const write = await sqlState(report, "insert into schema_migrations (name, checksum) values ('x', 'y')");
    assert.ok(['25006', '42501'].includes(write), write);
  });
});

describe('Redis: TLS only, default user off, the app user confined to fenqi: and its commands', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => redis?.destroy());

  const overTls = (request: string) =>
    exchange(tls.connect({ host: '127.0.0.1', port: redis.port, ca: readTls(redis.tls).ca }), request);
  const appPassword = () => decodeURIComponent(new URL(redis.url).password);

  test('without credentials every command is refused (NOAUTH); the default user is off', async () => {
    const reply = await overTls('PING\r\nGET fenqi:x\r\nAUTH default ""\r\nQUIT\r\n');
    // PING and GET refused, the default user refused, and only QUIT answered
    assert.match(reply, /^-NOAUTH[^\r]*\r\n-NOAUTH[^\r]*\r\n-WRONGPASS[^\r]*\r\n\+OK\r\n$/);
  });

  test('a wrong password is refused (WRONGPASS); the right one is accepted', async () => {
    const wrong = await overTls('AUTH fenqi_app wrong-password\r\nPING\r\nQUIT\r\n');
    assert.match(wrong, /^-WRONGPASS/);
    assert.match(wrong, /NOAUTH/);
    const right = await overTls(`AUTH fenqi_app ${appPassword()}\r\nPING\r\nQUIT\r\n`);
    assert.match(right, /^\+OK\r\n\+PONG/);
  });

  test('plaintext with the right password gets no answer: the server hangs up', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: redis.port });
    const reply = await exchange(socket, `AUTH fenqi_app ${appPassword()}\r\nPING\r\n`);
    assert.doesNotMatch(reply, /OK|PONG/);
  });

  test('the app user cannot touch keys outside fenqi: nor run CONFIG, FLUSHALL, KEYS or SUBSCRIBE', async () => {
    const app = redis.client('app');
    try {
      assert.equal(await app.set('fenqi:mine', '1'), 'OK');
      const refused = async (...command: string[]) => {
        const [name, ...args] = command as [string, ...string[]];
        await assert.rejects(app.call(name, ...args), /NOPERM|can't run this command/, command.join(' '));
      };
      await refused('get', 'other:key');
      await refused('set', 'merchant-key:x', '1');
      await refused('config', 'get', 'maxmemory');
      await refused('config', 'set', 'dir', '/tmp');
      await refused('flushall');
      await refused('flushdb');
      await refused('keys', '*');
      await refused('subscribe', 'anything');
      // a script runs with the caller's rights, command by command and key by key
      await refused('eval', "return redis.call('FLUSHALL')", '0');
      await refused('eval', "return redis.call('SET', KEYS[1], 'x')", '1', 'other:key');
      const admin = redis.client('admin');
      assert.equal(
        await admin.get('fenqi:mine').finally(() => admin.disconnect()),
        '1',
        'nothing was flushed',
      );
    } finally {
      app.disconnect();
    }
  });
});

describe('NATS: TLS required, a user per service, the API publishes orders and only workers consume', () => {
  let nats: NatsServer;
  let api: JetStreamQueue;
  let worker: JetStreamQueue;
  before(async () => {
    nats = await startNats();
    worker = new JetStreamQueue(nats.url, 'links-worker', nats.link('worker'));
    await worker.ensure(platformStreams(), platformConsumers());
    api = new JetStreamQueue(nats.url, 'links-api', nats.link('api'));
    // settings already in place: the API only reads them
    await api.ensure(platformStreams(), platformConsumers());
  });
  after(async () => {
    await api?.close();
    await worker?.close();
    await nats?.destroy();
  });

  const attempt = async (options: { user?: string; pass?: string }) => {
    const ca = readTls(nats.tls!).ca.toString();
    try {
      const nc = await connect({ servers: nats.url, tls: { ca }, reconnect: false, ...options });
      await nc.close();
      return 'connected';
    } catch (err) {
      return (err as Error).message;
    }
  };

  test('no credentials, a wrong password or an unknown user is refused (Authorization Violation)', async () => {
    assert.match(await attempt({}), /Authorization Violation/);
    assert.match(await attempt({ user: 'fenqi-api', pass: 'wrong-password' }), /Authorization Violation/);
    assert.match(await attempt({ user: 'nobody', pass: 'x' }), /Authorization Violation/);
    assert.equal(await attempt({ user: 'fenqi-api', pass: nats.link('api').pass! }), 'connected');
  });

  test('plaintext with the right password is refused: the server requires TLS and hangs up', async () => {
    const { user, pass } = nats.link('api');
    const socket = net.connect({ host: '127.0.0.1', port: nats.port });
    const connectLine = JSON.stringify({ user, pass, verbose: true, pedantic: false, tls_required: false });
    const reply = await exchange(socket, `CONNECT ${connectLine}\r\nPING\r\n`, true);
    assert.match(reply, /"tls_required":true/);
    assert.doesNotMatch(reply, /\+OK|PONG/);
  });

  test('the API publishes an order but cannot pull it; a worker can', async () => {
    const published = await api.publish(ORDERS_SUBJECT, Buffer.from('{"probe":1}'), { msgId: 'links-1' });
    assert.equal(published.duplicate, false);
    const byApi = await api
      .fetch(ORDERS_STREAM, ORDER_SETTLER, { max: 10, expiresMs: 1_000 })
      .catch(() => []);
    assert.equal(byApi.length, 0, 'the API pulled an order');
    assert.equal(await api.pending(ORDERS_STREAM, ORDER_SETTLER), 1, 'the order still waits for a worker');
    const byWorker = await worker.fetch(ORDERS_STREAM, ORDER_SETTLER, { max: 10, expiresMs: 1_000 });
    assert.equal(byWorker.length, 1);
    for (const m of byWorker) m.ack();
  });

  test('a worker cannot publish an order (no forged intake from a settler)', async () => {
    await assert.rejects(
      worker.publish(ORDERS_SUBJECT, Buffer.from('{}'), { msgId: 'links-forged', timeoutMs: 1_000 }),
      /Permissions Violation/,
    );
  });

  test("the API cannot listen on the orders subject nor on another service's reply inbox", async () => {
    const ca = readTls(nats.tls!).ca.toString();
    const { user, pass } = nats.link('api');
    const nc = await connect({
      servers: nats.url,
      tls: { ca },
      user,
      pass,
      reconnect: false,
      inboxPrefix: `_INBOX.${user}`,
    });
    try {
      for (const subject of ['fenqi.orders.>', '_INBOX.>', '_INBOX.fenqi-worker.>', '$JS.ACK.>']) {
        const sub = nc.subscribe(subject);
        const ended = (async () => {
          for await (const _ of sub) return 'message';
          return 'ended';
        })().catch((err: Error) => err.message);
        assert.match(await ended, /Permissions Violation for Subscription/, subject);
      }
    } finally {
      await nc.close();
    }
  });
});

describe('fenqi ops certs: a private development CA', () => {
  test('writes a CA, a server and a client certificate it signed, owner-only, and keeps them on a rerun', async () => {
    const dir = path.join(tempDir('ops-certs'), 'certs');
    const first = await runFenqi([
      'ops',
      'certs',
      '--dir',
      dir,
      '--host',
      'localhost',
      '127.0.0.1',
      'db.internal',
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const file of ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'client.crt', 'client.key'])
      assert.equal(statSync(path.join(dir, file)).mode & 0o777, 0o600, file);
    const verified = execFileSync(
      'openssl',
      [
        'verify',
        '-CAfile',
        path.join(dir, 'ca.crt'),
        path.join(dir, 'server.crt'),
        path.join(dir, 'client.crt'),
      ],
      { encoding: 'utf8' },
    );
    assert.match(verified, /server\.crt: OK[\s\S]*client\.crt: OK/);
    const names = execFileSync(
      'openssl',
      ['x509', '-noout', '-ext', 'subjectAltName', '-in', path.join(dir, 'server.crt')],
      {
        encoding: 'utf8',
      },
    );
    assert.match(names, /DNS:localhost, IP Address:127\.0\.0\.1, DNS:db\.internal/);
    const ca = readFileSync(path.join(dir, 'ca.crt'), 'utf8');
    const again = await runFenqi(['ops', 'certs', '--dir', dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(readFileSync(path.join(dir, 'ca.crt'), 'utf8'), ca, 'a rerun keeps the CA');
  });
});
