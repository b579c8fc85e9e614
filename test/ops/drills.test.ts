/**
 * The disaster-recovery drills against real servers: one Patroni/etcd/pgBackRest topology for
 * the whole file (three PostgreSQL members on loopback), stopped in after() whatever happened.
 * Order matters: the region drill goes last because it leaves region 1 dead.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { type CertSet, type ClientCert, generateDevCerts, issueClientCert } from '../../src/link/certs.ts';
import { runBackup } from '../../src/ops/backup.ts';
import { BINARIES_POSTGRES, down, type TopologyState, tlsCall, up } from '../../src/ops/cluster.ts';
import { runFailoverDrill } from '../../src/ops/drills/failover.ts';
import { runRegionDrill } from '../../src/ops/drills/region.ts';
import { runRestoreDrill } from '../../src/ops/drills/restore.ts';
import { failback } from '../../src/ops/failback.ts';
import { chownToPostgres, missingBinaries, runAsPostgres, sleep } from '../../src/ops/proc.ts';
import { restoreInto, sealWal, startRestored } from '../../src/ops/restore.ts';
import { topologyStatus } from '../../src/ops/status.ts';
import {
  appDatabaseUrl,
  PATRONI_REST_USER,
  pgbackrestClientCerts,
  STANZA,
  type TopologySpec,
} from '../../src/ops/topology.ts';
import { openPostgres } from '../../src/store/db.ts';

/** A plain-HTTP GET: resolves with the status if the server answers in plaintext at all. */
function plainHttpGet(port: number, route: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path: route, timeout: 5_000 }, (response) => {
      response.resume();
      response.on('end', () =>
        // Go's TLS server answers plaintext with a 400 telling the client to use HTTPS: a refusal too
        response.statusCode === 400
          ? reject(new Error('400: HTTPS required'))
          : resolve(response.statusCode ?? 0),
      );
    });
    request.on('timeout', () => request.destroy(new Error('no answer')));
    request.on('error', reject);
    request.end();
  });
}

/** An HTTPS GET of etcd's /health presenting `certs`' client certificate (the server's CA trusted). */
function httpsGetWithCert(spec: TopologySpec, certs: CertSet): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port: spec.etcd.clientPort,
        path: '/health',
        ca: readFileSync(spec.tls.caFile),
        cert: readFileSync(certs.clientCertFile),
        key: readFileSync(certs.clientKeyFile),
        timeout: 5_000,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('timeout', () => request.destroy(new Error('no answer')));
    request.on('error', reject);
    request.end();
  });
}

/** How long a refusing server may take to hang up (a bound on waiting, not a timing claim). */
const HANG_UP_WITHIN_MS = 5_000;

/** What a server sends before it hangs up on `socket`; rejects if it keeps the connection open. */
function untilHangUp(socket: net.Socket, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open; received: ${received}`));
    }, HANG_UP_WITHIN_MS);
    socket.on('data', (d) => (received += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.once(socket instanceof tls.TLSSocket ? 'secureConnect' : 'connect', () => socket.write(request));
  });
}

/**
 * `pgbackrest repo-ls` from the database hosts' configuration with another client certificate:
 * what an intruder on the network who copied the configuration (but not the key) would run.
 */
async function repoListWith(spec: TopologySpec, dir: string, cert: ClientCert): Promise<string> {
  const own = pgbackrestClientCerts(spec).db;
  const conf = readFileSync(spec.pgbackrest.configPath, 'utf8')
    .replaceAll(own.certFile, cert.certFile)
    .replaceAll(own.keyFile, cert.keyFile);
  const file = path.join(dir, `pgbackrest-${path.basename(cert.certFile, '.crt')}.conf`);
  await writeFile(file, conf, { mode: 0o600 });
  for (const f of [file, cert.certFile, cert.keyFile]) chownToPostgres(f);
  try {
    const { stdout } = await runAsPostgres('/usr/bin/pgbackrest', [
      `--config=${file}`,
      `--stanza=${STANZA}`,
      '--repo=1',
      'repo-ls',
    ]);
    return stdout;
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

describe('disaster-recovery drills', () => {
  let state: TopologyState | undefined;
  let scratch: string;

  before(async () => {
    const missing = missingBinaries(BINARIES_POSTGRES);
    if (missing.length > 0) throw new Error(missing.join('; '));
    scratch = await mkdtemp(path.join(os.tmpdir(), 'fenqi-ops-test-'));
    chownToPostgres(scratch);
    state = await up(path.join(scratch, 'topology'), { parts: { postgres: true, nats: false } });
  });

  after(async () => {
    if (state) await down(state, { graceful: false });
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  test('every link of the topology refuses plaintext and missing or wrong credentials: etcd, Patroni, PostgreSQL', async () => {
    const spec = state!.spec;
    const refused = (what: string, call: Promise<unknown>) =>
      call.then(
        (answer) => assert.fail(`${what} answered: ${JSON.stringify(answer)}`),
        (err: Error) => err,
      );
    // etcd: TLS only, and only for holders of a certificate from the CA
    await refused('etcd over plain HTTP', plainHttpGet(spec.etcd.clientPort, '/health'));
    const noCert = await refused(
      'etcd without a client certificate',
      tlsCall(spec, spec.etcd.clientPort, '/health', { timeoutMs: 5_000 }),
    );
    assert.match(String((noCert as { code?: string }).code ?? noCert.message), /CERT|certificate/i);
    // a client certificate from another CA: the handshake fails
    const foreign = generateDevCerts(path.join(scratch, 'foreign-etcd-ca'));
    await refused('etcd with a certificate from another CA', httpsGetWithCert(spec, foreign));
    const health = await tlsCall(spec, spec.etcd.clientPort, '/health', {
      clientCert: true,
      timeoutMs: 5_000,
    });
    assert.equal(health.status, 200);
    // Patroni's REST API: TLS only; a write needs the ops user's password
    const member = spec.members[0]!;
    await refused('Patroni over plain HTTP', plainHttpGet(member.restPort, '/cluster'));
    const anonymous = await tlsCall(spec, member.restPort, '/reload', { method: 'POST', timeoutMs: 5_000 });
    assert.equal(anonymous.status, 401);
    const wrong = await tlsCall(spec, member.restPort, '/reload', {
      method: 'POST',
      auth: { username: PATRONI_REST_USER, password: 'wrong-password' },
      timeoutMs: 5_000,
    });
    assert.equal(wrong.status, 401);
    // PostgreSQL: hostssl + scram only
    const url = appDatabaseUrl(spec);
    const state28 = async (u: string) => {
      const sql = openPostgres(u, { max: 1, connect_timeout: 5, onnotice: () => {} });
      try {
        await sql`select 1`;
        return 'none';
      } catch (err) {
        return String((err as { code?: string }).code);
      } finally {
        await sql.end({ timeout: 1 });
      }
    };
    assert.equal(await state28(url), 'none');
    assert.equal(await state28(url.replace('sslmode=verify-full', 'sslmode=disable')), '28000');
    assert.equal(await state28(url.replace(/:[^:@/]+@/, ':wrong-password@')), '28P01');
    assert.equal(await state28(url.replace(/:[^:@/]+@/, '@')), '28P01');
  });

  test('pgBackRest: the repositories are reached over TLS only, with a client certificate the repository host authorises', async () => {
    const spec = state!.spec;
    const port = spec.pgbackrest.repoServerPort;
    const db = readFileSync(spec.pgbackrest.configPath, 'utf8');
    assert.match(db, /^repo1-host-type=tls$/m);
    assert.match(db, /^repo2-host-type=tls$/m);
    // the database hosts' own certificate lists the repository
    const listing = await repoListWith(spec, scratch, pgbackrestClientCerts(spec).db);
    assert.match(listing, /^archive$/m);
    assert.match(listing, /^backup$/m);
    // a certificate from the same CA under a name tls-server-auth does not map: access denied
    const intruder = issueClientCert(spec.tls, 'intruder', 'intruder');
    assert.match(await repoListWith(spec, scratch, intruder), /^refused: .*access denied/s);
    // the repository host's own certificate reaches the database hosts, not the repositories
    assert.match(
      await repoListWith(spec, scratch, pgbackrestClientCerts(spec).repo),
      /^refused: .*access denied/s,
    );
    // a certificate from another CA fails the handshake
    const foreign = generateDevCerts(path.join(scratch, 'foreign-ca'));
    chownToPostgres(foreign.dir);
    const foreignAnswer = await repoListWith(spec, scratch, {
      certFile: foreign.clientCertFile,
      keyFile: foreign.clientKeyFile,
    });
    assert.match(foreignAnswer, /^refused: /);
    assert.doesNotMatch(foreignAnswer, /^archive$/m);
    // no client certificate: the server greets, then hangs up before serving anything
    const noCert = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: readFileSync(spec.tls.caFile),
    });
    const noCertAnswer = await untilHangUp(noCert, '');
    assert.doesNotMatch(noCertAnswer, /archive|backup\.info/);
    // plaintext: the server hangs up without a word
    assert.equal(await untilHangUp(net.connect(port, '127.0.0.1'), 'GET / HTTP/1.0\r\n\r\n'), '');
  });

  test('restore to a point in time contains exactly the transactions committed before it', async () => {
    const spec = state!.spec;
    const backup = await runBackup(spec, 'full', 2);
    // pgBackRest records the stop time in whole seconds and picks a backup that stopped before
    // the target, so the target must be clear of that second.
    await sleep(Math.max(0, Date.parse(backup.stopAt) + 2_000 - Date.now()));
    // a table of its own: the owner's to create
    const sql = openPostgres(appDatabaseUrl(spec, 'fenqi', 'primary', 'owner'), {
      max: 1,
      onnotice: () => {},
    });
    let target: string;
    try {
      await sql`create table pitr_probe (id int primary key, created_at timestamptz not null default now())`;
      for (let id = 1; id <= 40; id++) await sql`insert into pitr_probe (id) values (${id})`;
      const [t] = await sql<{ t: string }[]>`select clock_timestamp()::text as t`;
      target = t!.t;
      // Commits on both sides of the target are a clear second apart.
      await sleep(1_000);
      for (let id = 41; id <= 80; id++) await sql`insert into pitr_probe (id) values (${id})`;
    } finally {
      await sql.end();
    }
    await sealWal(spec);
    const into = path.join(scratch, 'pitr');
    await restoreInto(spec, { target, into, repo: 2 });
    const restored = await startRestored(spec, into);
    try {
      const check = openPostgres(restored.url('fenqi'), { max: 1, onnotice: () => {} });
      try {
        const rows = await check<{ id: number }[]>`select id from pitr_probe order by id`;
        assert.deepEqual(
          rows.map((r) => r.id),
          Array.from({ length: 40 }, (_, i) => i + 1),
        );
      } finally {
        await check.end();
      }
    } finally {
      await restored.stop();
    }
  });

  test('pgaudit records role changes and DDL with who did them, never a password', async () => {
    const spec = state!.spec;
    const log = readFileSync(spec.members[0]!.logPath, 'utf8');
    const audit = log.split('\n').filter((line) => line.includes('AUDIT: SESSION'));
    assert.ok(
      audit.some((l) =>
        /postgres@postgres .*ROLE,CREATE ROLE,,,create role fenqi_app login\s+password <REDACTED>/.test(l),
      ),
      'the app role was created on record',
    );
    // the table the point-in-time test created as the owner
    assert.ok(
      audit.some((l) => /fenqi_owner@fenqi .*DDL,CREATE TABLE,.*pitr_probe/i.test(l)),
      'the owner’s CREATE TABLE is on record',
    );
    for (const [name, secret] of Object.entries(spec.passwords.roles))
      assert.ok(!log.includes(secret), `the ${name} password is not in the log`);
  });

  test('restore drill: off-site backup, PITR, counts equal, ledger balanced', async () => {
    const reportDir = path.join(scratch, 'reports');
    const report = await runRestoreDrill({ state: state!, reportDir, loadS: 3, seedLedger: true });
    assert.equal(report.verdict, 'pass', JSON.stringify(report.checks));
    assert.equal(report.figures.repo, 'repo2');
    const ledger = report.checks.find((c) => c.name === 'ledger balances');
    assert.match(ledger?.detail ?? '', /^100 journal lines: debits \d+ = credits \d+/);
    const counts = report.checks.find((c) => c.name.startsWith('row counts'));
    assert.ok(counts?.ok, counts?.detail);
    assert.ok(existsSync(report.files!.markdown));
    assert.equal(JSON.parse(readFileSync(report.files!.json, 'utf8')).verdict, 'pass');
  });

  test('failover: 0 acknowledged writes lost, the application writes again without a restart', async () => {
    const report = await runFailoverDrill({ state: state!, reportDir: path.join(scratch, 'reports') });
    assert.equal(report.verdict, 'pass', JSON.stringify(report.checks));
    assert.equal(report.figures.writesLost, 0);
    assert.ok((report.figures.writesAfterFailover as number) > 0);
    assert.ok((report.figures.writesAckedBeforeKill as number) > 0);
    assert.notEqual(report.figures.newPrimary, report.figures.oldPrimary);
    assert.equal(typeof report.timings.rtoMs, 'number');
    process.stderr.write(
      `failover RTO ${report.timings.rtoMs} ms, new primary after ${report.timings.newPrimaryMs} ms\n`,
    );
  });

  test('region loss: dc2a promoted, writes resume, writes lost reported', async () => {
    const report = await runRegionDrill({ state: state! });
    assert.equal(report.verdict, 'pass', JSON.stringify(report.checks));
    assert.equal(typeof report.figures.writesLostTx, 'number');
    assert.equal(typeof report.timings.rtoMs, 'number');
    process.stderr.write(
      `region RTO ${report.timings.rtoMs} ms, lost ${report.figures.writesLostTx} tx (${report.figures.writesLostWindowS} s)\n`,
    );
  });

  test('failback after the region drill: region 1 leads again with a synchronous standby', async () => {
    const result = await failback(state!);
    assert.match(result.primary, /^dc1/);
    const status = await topologyStatus(state!);
    assert.equal(status.primary, result.primary);
    assert.ok(status.members.some((m) => m.role === 'sync_standby' && m.region === 'region1'));
    assert.ok(status.members.every((m) => m.state === 'running'));
  });
});
