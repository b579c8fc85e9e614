/**
 * In-region failover drill: under a steady write load, SIGKILL the primary (Patroni and
 * PostgreSQL, as a machine loss), let Patroni promote the synchronous standby, and measure the
 * time to a new primary and to the first acknowledged write (RTO). Every write acknowledged before
 * the kill must be on the new primary (RPO 0). The old primary then rejoins as a standby,
 * rewound with pg_rewind where its timeline diverged.
 */
import { readFileSync } from 'node:fs';
import {
  clusterView,
  currentLeader,
  isRunning,
  memberPids,
  type PatroniMemberView,
  startMember,
  type TopologyState,
  waitHealthy,
} from '../cluster.ts';
import { fileSize, progress, signalAll, sleep, waitFor } from '../proc.ts';
import type { DrillReport } from '../report.ts';
import { APP_DATABASE, appDatabaseUrl, memberDatabaseUrl } from '../topology.ts';
import {
  type DrillOptions,
  finishReport,
  incompleteCheck,
  newRecord,
  runDrill,
  since,
  writerTicker,
} from './common.ts';
import { createDrillTable, DrillWriter, missingIds, rtoAfterKill, STRAGGLER_MS } from './writer.ts';

export const RTO_GOAL_MS = 15_000;
const STEADY_LOAD_MS = 3_000;
const NEW_PRIMARY_LIMIT_MS = 60_000;
const FIRST_WRITE_LIMIT_MS = 60_000;
const AFTER_FAILOVER_LOAD_MS = 2_000;
const REJOIN_LIMIT_MS = 120_000;
const HEALTHY_LIMIT_MS = 60_000;

export async function runFailoverDrill(options: DrillOptions = {}): Promise<DrillReport> {
  return await runDrill(options, { postgres: true, nats: false }, failover);
}

async function failover(state: TopologyState, own: boolean, startedAt: Date): Promise<DrillReport> {
  const { spec } = state;
  const record = newRecord();
  const { checks, notes, timings, figures } = record;

  await waitHealthy(spec, HEALTHY_LIMIT_MS);
  const view = (await clusterView(spec))!;
  const oldLeader = spec.members.find((m) => m.name === view.find((v) => v.role === 'leader')?.name)!;
  const syncStandby = view.find((v) => v.role === 'sync_standby')?.name ?? null;
  figures.oldPrimary = oldLeader.name;
  figures.syncStandby = syncStandby;
  progress(`primary ${oldLeader.name}, synchronous standby ${syncStandby}`);

  const url = appDatabaseUrl(spec);
  figures.connectionString = url.replace(/:[^:@/]+@/, ':***@');
  // the table is the owner's; the writer, like the app, only writes rows
  await createDrillTable(appDatabaseUrl(spec, APP_DATABASE, 'primary', 'owner'));
  const writer = new DrillWriter(url, `failover-${startedAt.toISOString()}`, Date.now());
  writer.start();
  let phase = 'steady load';
  const stopTicker = writerTicker('failover', writer, () => phase);
  try {
    await sleep(STEADY_LOAD_MS);
    if (writer.acked.size === 0) throw new Error(`no write succeeded under steady load: ${writer.lastError}`);

    phase = `primary ${oldLeader.name} killed, waiting for a new primary`;
    const logOffset = fileSize(oldLeader.logPath);
    const doomed = memberPids(state, oldLeader.name);
    signalAll(doomed);
    const killAtMs = Date.now();
    progress(`SIGKILL ${oldLeader.name} (patroni and postgres)`);

    const newLeader = await waitFor(
      'a new primary',
      async () => {
        const leader = await currentLeader(
          spec,
          spec.members.filter((m) => m.name !== oldLeader.name).map((m) => m.name),
        );
        return leader && leader.name !== oldLeader.name ? leader : undefined;
      },
      NEW_PRIMARY_LIMIT_MS,
      100,
    );
    timings.newPrimaryMs = since(killAtMs);
    figures.newPrimary = newLeader.name;
    progress(`${newLeader.name} is primary after ${timings.newPrimaryMs} ms`);

    phase = 'waiting for the application to write again';
    timings.rtoMs = await rtoAfterKill(
      writer,
      killAtMs,
      'the first write after the kill',
      FIRST_WRITE_LIMIT_MS,
    );
    phase = 'writing on the new primary';
    await sleep(AFTER_FAILOVER_LOAD_MS);
    await writer.quiesce();

    const ackedBeforeKill = writer.ackedBefore(killAtMs + STRAGGLER_MS);
    const allAcked = [...writer.acked.keys()];
    const lost = await missingIds(memberDatabaseUrl(spec, newLeader), allAcked);
    figures.writesAckedBeforeKill = ackedBeforeKill.length;
    figures.writesAckedTotal = allAcked.length;
    figures.writesLost = lost.length;
    figures.failedAttemptsDuringFailover = writer.errors;
    figures.writesAfterFailover = allAcked.length - ackedBeforeKill.length;
    checks.push({
      name: 'new primary elected',
      ok: newLeader.name !== oldLeader.name,
      detail: `${newLeader.name} after ${timings.newPrimaryMs} ms (was ${syncStandby} the synchronous standby: ${newLeader.name === syncStandby})`,
    });
    checks.push({
      name: 'RPO 0: every acknowledged write on the new primary',
      ok: lost.length === 0,
      detail: `${allAcked.length} acknowledged, ${lost.length} missing${lost.length ? ` (ids ${lost.slice(0, 10).join(', ')})` : ''}`,
    });
    checks.push({
      name: 'application writes again without a restart',
      ok: figures.writesAfterFailover > 0,
      detail: `${figures.writesAfterFailover} writes through the same multi-host pool after the kill`,
    });
    checks.push({
      name: `RTO under ${RTO_GOAL_MS / 1000} s`,
      ok: timings.rtoMs < RTO_GOAL_MS,
      detail: `first acknowledged write ${timings.rtoMs} ms after the kill`,
    });

    phase = `${oldLeader.name} rejoining as a standby`;
    const rejoinStartMs = Date.now();
    await startMember(state, oldLeader);
    const rejoined = await waitFor(
      `${oldLeader.name} to rejoin as a standby`,
      async () => {
        const members = await clusterView(spec, [newLeader.name]);
        const old = members?.find((m: PatroniMemberView) => m.name === oldLeader.name);
        return old && old.role !== 'leader' && isRunning(old) ? old : undefined;
      },
      REJOIN_LIMIT_MS,
      500,
    );
    timings.rejoinMs = since(rejoinStartMs);
    const log = readFileSync(oldLeader.logPath, 'utf8').slice(logOffset);
    const rewound = /running pg_rewind|pg_rewind: Done!/.test(log);
    figures.rejoinedRole = rejoined.role;
    figures.pgRewindUsed = rewound;
    const stillMissing = await waitFor(
      'the rejoined standby to replay every acknowledged write',
      async () => {
        const missing = await missingIds(memberDatabaseUrl(spec, oldLeader), allAcked);
        return missing.length === 0 ? missing : undefined;
      },
      HEALTHY_LIMIT_MS,
      500,
    ).catch(() => undefined);
    checks.push({
      name: 'old primary rejoined as a standby',
      ok: stillMissing !== undefined,
      detail: `${oldLeader.name} is ${rejoined.role} after ${timings.rejoinMs} ms${rewound ? ', rewound with pg_rewind' : ''}; it holds every acknowledged write`,
    });
    notes.push(
      'The writer is one postgres.js pool on a multi-host URL with target_session_attrs=primary (postgres.js 3.4 mistakes a hot standby for read-write); it was never restarted.',
      'Kill = SIGKILL of Patroni and of every PostgreSQL process of the primary, as a power loss would do.',
    );
  } catch (err) {
    checks.push(incompleteCheck(phase, err));
  } finally {
    stopTicker();
    await writer.stop();
  }
  return finishReport('failover', startedAt, own, record, {
    pass: () =>
      `${figures.newPrimary} took over in ${timings.newPrimaryMs} ms; writes resumed after ${timings.rtoMs} ms; 0 acknowledged writes lost`,
    failure: (c) => c.name,
  });
}
