/**
 * The disaster-recovery drills against real servers: one Patroni/etcd/pgBackRest topology for
 * the whole file (three PostgreSQL members on loopback), stopped in after() whatever happened.
 * Order matters: the region drill goes last because it leaves region 1 dead.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runBackup } from '../../src/ops/backup.ts';
import { BINARIES_POSTGRES, down, type TopologyState, tlsCall, up } from '../../src/ops/cluster.ts';
import { runFailoverDrill } from '../../src/ops/drills/failover.ts';
import { runRegionDrill } from '../../src/ops/drills/region.ts';
import { runRestoreDrill } from '../../src/ops/drills/restore.ts';
import { failback } from '../../src/ops/failback.ts';
import { chownToPostgres, missingBinaries, sleep } from '../../src/ops/proc.ts';
import { restoreInto, sealWal, startRestored } from '../../src/ops/restore.ts';
import { topologyStatus } from '../../src/ops/status.ts';
import { appDatabaseUrl, PATRONI_REST_USER } from '../../src/ops/topology.ts';
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
