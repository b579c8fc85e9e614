/**
 * Region-loss drill: under a steady write load, SIGKILL everything in region 1 (dc1a and dc1b:
 * Patroni, PostgreSQL and their NATS nodes), then promote the asynchronous standby dc2a the way an
 * operator would (turn synchronous mode off, lift dc2a's nofailover tag, let Patroni elect it), and
 * report the RTO and the writes lost: acknowledged writes that had not reached region 2 (the
 * asynchronous window, in transactions and seconds).
 */

import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { openPostgres } from '../../store/db.ts';
import {
  currentLeader,
  memberPids,
  natsPids,
  restSend,
  setNofailover,
  type TopologyState,
  tcpOpen,
  waitHealthy,
} from '../cluster.ts';
import { progress, signalAll, sleep, waitFor } from '../proc.ts';
import type { DrillReport } from '../report.ts';
import { topologyStatus } from '../status.ts';
import {
  APP_DATABASE,
  appDatabaseUrl,
  LOOPBACK,
  memberDatabaseUrl,
  natsConnectOptions,
  natsUrl,
  type PgMember,
  type TopologySpec,
} from '../topology.ts';
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

const STEADY_LOAD_MS = 5_000;
const LAG_SAMPLE_EVERY_MS = 500;
const PROMOTE_LIMIT_MS = 60_000;
const FIRST_WRITE_LIMIT_MS = 60_000;
const HEALTHY_LIMIT_MS = 60_000;
const NATS_PROBE_TIMEOUT_MS = 3_000;
const REGION_DOWN_LIMIT_MS = 10_000;
/** Accept any lag at promotion: losing the asynchronous window is the decision being taken. */
const ANY_LAG_BYTES = 1024 ** 4;

/**
 * The operator's promotion of the region-2 standby. Patroni only lets the synchronous standby win
 * an election in synchronous mode, and dc2a carries nofailover so it never wins one on its own.
 */
export async function promoteRemote(spec: TopologySpec, member: PgMember): Promise<void> {
  const patched = await restSend(spec, member.restPort, 'PATCH', '/config', {
    synchronous_mode: false,
    maximum_lag_on_failover: ANY_LAG_BYTES,
  });
  if (patched !== 200) throw new Error(`PATCH /config on ${member.name} answered ${patched}`);
  await setNofailover(member.patroniConfigPath, false);
  const reloaded = await restSend(spec, member.restPort, 'POST', '/reload');
  if (reloaded >= 300) throw new Error(`POST /reload on ${member.name} answered ${reloaded}`);
  progress(
    `${member.name}: synchronous mode off, nofailover lifted; Patroni elects it once the old leader key expires`,
  );
}

const PROBE_STREAM = 'OPS_DRILL_REGION';

/** An R3 stream to publish into before and after the loss: can the queue still take an order? */
async function queueAcceptsPublish(spec: TopologySpec, servers: string, create: boolean): Promise<boolean> {
  try {
    const nc = await connect({ servers, timeout: NATS_PROBE_TIMEOUT_MS, ...natsConnectOptions(spec) });
    try {
      const jsm = await jetstreamManager(nc, { timeout: NATS_PROBE_TIMEOUT_MS });
      if (create)
        await jsm.streams.add({ name: PROBE_STREAM, subjects: ['ops.drill.region'], num_replicas: 3 });
      await jsm.jetstream().publish('ops.drill.region', 'probe', { timeout: NATS_PROBE_TIMEOUT_MS });
      return true;
    } finally {
      await nc.close();
    }
  } catch {
    return false;
  }
}

export interface RegionDrillOptions extends DrillOptions {
  /**
   * Hold back WAL to region 2 for this long before the loss, as a slow inter-region link would:
   * the primary's walsender for dc2a is stopped (SIGSTOP), so what is written meanwhile never
   * leaves region 1. On loopback the window is otherwise too small to see.
   */
  asyncDelayMs?: number;
}

export async function runRegionDrill(options: RegionDrillOptions = {}): Promise<DrillReport> {
  return await runDrill(options, { postgres: true, nats: true }, (state, own, startedAt) =>
    regionDrill(state, own, startedAt, options.asyncDelayMs ?? 0),
  );
}

/** The pid of the primary's walsender that streams to the given standby. */
async function walsenderPid(spec: TopologySpec, standby: string): Promise<number | undefined> {
  const leader = await currentLeader(spec);
  if (!leader) return undefined;
  const sql = openPostgres(memberDatabaseUrl(spec, leader, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<
      { pid: number }[]
    >`select pid from pg_stat_replication where application_name = ${standby}`;
    return row?.pid;
  } finally {
    await sql.end({ timeout: 2 });
  }
}

async function regionDrill(
  state: TopologyState,
  own: boolean,
  startedAt: Date,
  asyncDelayMs: number,
): Promise<DrillReport> {
  const { spec } = state;
  const record = newRecord();
  const { checks, notes, timings, figures } = record;
  const remote = spec.members.find((m) => m.region === 'region2')!;
  const region1 = spec.members.filter((m) => m.region === 'region1');
  let phase = 'waiting for a healthy topology';
  await waitHealthy(spec, HEALTHY_LIMIT_MS);
  const url = appDatabaseUrl(spec);
  // the table is the owner's; the writer, like the app, only writes rows
  await createDrillTable(appDatabaseUrl(spec, APP_DATABASE, 'primary', 'owner'));
  const writer = new DrillWriter(url, `region-${startedAt.toISOString()}`, Date.now());
  const lagBytes: number[] = [];
  const lagS: number[] = [];
  const stopTicker = writerTicker('region', writer, () => phase);
  try {
    writer.start();
    phase = `steady load, sampling ${remote.name}'s replication lag`;
    const loadEnd = Date.now() + STEADY_LOAD_MS;
    while (Date.now() < loadEnd) {
      const status = await topologyStatus(state);
      const r = status.members.find((m) => m.name === remote.name);
      if (r?.lagBytes != null) lagBytes.push(r.lagBytes);
      if (r?.lagS != null) lagS.push(r.lagS);
      await sleep(LAG_SAMPLE_EVERY_MS);
    }
    figures.steadyLoadWritesPerS = Math.round(writer.acked.size / (STEADY_LOAD_MS / 1000));
    figures.asyncLagMaxBytes = lagBytes.length ? Math.max(...lagBytes) : null;
    figures.asyncLagMaxS = lagS.length ? Math.max(...lagS) : null;
    figures.asyncLagMeanS = lagS.length
      ? Math.round((lagS.reduce((a, b) => a + b, 0) / lagS.length) * 1000) / 1000
      : null;

    if (state.parts.nats) {
      figures.queueAcceptedBeforeLoss = await queueAcceptsPublish(spec, natsUrl(spec), true);
    }

    if (asyncDelayMs > 0) {
      phase = `holding back WAL to ${remote.name} for ${asyncDelayMs} ms`;
      const pid = await walsenderPid(spec, remote.name);
      if (!pid) throw new Error(`no walsender streams to ${remote.name}`);
      process.kill(pid, 'SIGSTOP');
      figures.asyncDelayMs = asyncDelayMs;
      await sleep(asyncDelayMs);
    }

    phase = 'region 1 lost';
    const doomed = region1.flatMap((m) => [
      ...memberPids(state, m.name),
      ...(state.parts.nats ? natsPids(state, m.name) : []),
    ]);
    signalAll(doomed);
    const killAtMs = Date.now();
    progress(
      `SIGKILL region 1: ${region1.map((m) => m.name).join(', ')} (patroni, postgres${state.parts.nats ? ', nats' : ''})`,
    );

    // The operator's check before deciding: region 1 does not answer, region 2 does.
    await waitFor(
      'region 1 to stop answering',
      async () => {
        for (const m of region1) if (await tcpOpen(m.restPort)) return undefined;
        return true;
      },
      REGION_DOWN_LIMIT_MS,
      50,
    );
    timings.decisionMs = since(killAtMs);
    phase = `promoting ${remote.name}`;
    await promoteRemote(spec, remote);
    const promoted = await waitFor(
      `${remote.name} to lead`,
      async () => ((await currentLeader(spec, [remote.name]))?.name === remote.name ? true : undefined),
      PROMOTE_LIMIT_MS,
      100,
    );
    timings.promotedMs = since(killAtMs);
    progress(`${remote.name} is primary after ${timings.promotedMs} ms`);
    phase = 'waiting for the application to write in region 2';
    timings.rtoMs = await rtoAfterKill(writer, killAtMs, 'the first write in region 2', FIRST_WRITE_LIMIT_MS);
    await sleep(1_000);
    await writer.quiesce();

    // Writes acknowledged in the straggler window came from region 1: they count as before the loss.
    const ackedBeforeKill = writer.ackedBefore(killAtMs + STRAGGLER_MS);
    const beforeSet = new Set(ackedBeforeKill);
    const lost = await missingIds(memberDatabaseUrl(spec, remote), ackedBeforeKill);
    const lostAt = lost.map((id) => writer.acked.get(id)!).sort((a, b) => a - b);
    figures.writesAckedBeforeKill = ackedBeforeKill.length;
    figures.writesLostTx = lost.length;
    figures.writesLostWindowS = lostAt.length ? Math.round(killAtMs - lostAt[0]!) / 1000 : 0;
    const afterKill = [...writer.acked.keys()].length - ackedBeforeKill.length;
    const lostAfter = await missingIds(
      memberDatabaseUrl(spec, remote),
      [...writer.acked.keys()].filter((id) => !beforeSet.has(id)),
    );
    checks.push({
      name: `${remote.name} promoted`,
      ok: promoted === true,
      detail: `primary after ${timings.promotedMs} ms`,
    });
    checks.push({
      name: 'application writes in region 2 without a restart',
      ok: afterKill > 0 && lostAfter.length === 0,
      detail: `${afterKill} writes through the same multi-host pool after the loss; first after ${timings.rtoMs} ms`,
    });
    checks.push({
      name: 'writes lost measured',
      ok: true,
      detail: `${lost.length} of ${ackedBeforeKill.length} acknowledged writes had not reached region 2 (window ${figures.writesLostWindowS} s); steady-load lag max ${figures.asyncLagMaxBytes} bytes / ${figures.asyncLagMaxS} s`,
    });
    if (state.parts.nats) {
      const node = spec.nats.find((n) => n.name === remote.name)!;
      const available = await queueAcceptsPublish(spec, `tls://${LOOPBACK}:${node.clientPort}`, false);
      figures.queueAcceptsPublishInRegion2 = available;
      notes.push(
        available
          ? 'An R3 stream still accepted a publish through the region-2 NATS node.'
          : 'The R3 stream refused publishes through the region-2 NATS node: two of its three peers were in region 1, so it lost its quorum. Its messages are on dc2a\'s disk; docs/operations.md "When a region dies" says how to bring the queue back.',
      );
    }
    notes.push(
      'Promotion is an operator decision, not automatic: it accepts losing the asynchronous window. The drill takes it the moment region 1 stops answering.',
      own
        ? 'The drill topology was torn down afterwards.'
        : `${remote.name} is now the primary with synchronous mode off; run \`fenqi ops failback\` to bring region 1 back before the next drill.`,
    );
  } catch (err) {
    checks.push(incompleteCheck(phase, err));
  } finally {
    stopTicker();
    await writer.stop();
  }
  return finishReport('region', startedAt, own, record, {
    pass: () =>
      `${remote.name} took over after losing region 1: writes resumed after ${timings.rtoMs} ms; ${figures.writesLostTx} acknowledged writes lost (${figures.writesLostWindowS} s)`,
  });
}
