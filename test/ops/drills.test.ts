/**
 * The disaster-recovery drills against real servers: one Patroni/etcd/pgBackRest topology for
 * the whole file (three PostgreSQL members on loopback), stopped in after() whatever happened.
 * Order matters: the region drill goes last because it leaves region 1 dead.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { runBackup } from '../../src/ops/backup.ts';
import { BINARIES_POSTGRES, down, type TopologyState, up } from '../../src/ops/cluster.ts';
import { runFailoverDrill } from '../../src/ops/drills/failover.ts';
import { runRegionDrill } from '../../src/ops/drills/region.ts';
import { runRestoreDrill } from '../../src/ops/drills/restore.ts';
import { failback } from '../../src/ops/failback.ts';
import { chownToPostgres, missingBinaries, sleep } from '../../src/ops/proc.ts';
import { restoreInto, sealWal, startRestored } from '../../src/ops/restore.ts';
import { topologyStatus } from '../../src/ops/status.ts';
import { appDatabaseUrl } from '../../src/ops/topology.ts';

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

  test('restore to a point in time contains exactly the transactions committed before it', async () => {
    const spec = state!.spec;
    const backup = await runBackup(spec, 'full', 2);
    // pgBackRest records the stop time in whole seconds and picks a backup that stopped before
    // the target, so the target must be clear of that second.
    await sleep(Math.max(0, Date.parse(backup.stopAt) + 2_000 - Date.now()));
    const sql = postgres(appDatabaseUrl(spec), { max: 1, onnotice: () => {} });
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
      const check = postgres(restored.url('fenqi'), { max: 1, onnotice: () => {} });
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
