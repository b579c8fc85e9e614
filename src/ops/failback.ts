/**
 * After a region loss: bring region 1 back as standbys of the region-2 primary (Patroni rewinds
 * them), turn synchronous mode back on, hand the primary back to region 1 with a switchover to its
 * synchronous standby, and put dc2a's nofailover tag back. Each step is what the runbook says to
 * do by hand; this is the same sequence, with waits.
 */
import {
  clusterView,
  currentLeader,
  isRunning,
  restSend,
  setNofailover,
  startMember,
  startNatsNode,
  type TopologyState,
  waitHealthy,
} from './cluster.ts';
import { isAlive, progress, sleep, waitFor } from './proc.ts';
import { type DcName, MAXIMUM_LAG_ON_FAILOVER_BYTES, type PgMember } from './topology.ts';

const REJOIN_LIMIT_MS = 180_000;
const SYNC_LIMIT_MS = 60_000;
const SWITCHOVER_LIMIT_MS = 60_000;
const HEALTHY_LIMIT_MS = 60_000;
const SWITCHOVER_RETRIES = 5;

export interface FailbackResult {
  primary: string;
  rejoinMs: number;
  switchoverMs: number;
}

/** Starts region 1's members (and NATS nodes) that are down and waits until they follow the leader. */
async function rejoinRegion1(state: TopologyState, leader: PgMember, region1: PgMember[]): Promise<void> {
  const { spec } = state;
  for (const m of region1) {
    if (!isAlive(state.pids.patroni[m.name])) {
      progress(`starting ${m.name}: it rejoins as a standby of ${leader.name}`);
      await startMember(state, m);
    }
    if (state.parts.nats && !isAlive(state.pids.nats[m.name])) startNatsNode(state, m.name);
  }
  await waitFor(
    'region 1 running as standbys',
    async () => {
      const view = await clusterView(spec, [leader.name]);
      const ok = region1.every((m) => {
        const v = view?.find((x) => x.name === m.name);
        return v && v.role !== 'leader' && isRunning(v);
      });
      return ok ? true : undefined;
    },
    REJOIN_LIMIT_MS,
    500,
  );
}

export async function failback(state: TopologyState): Promise<FailbackResult> {
  const { spec } = state;
  const remote = spec.members.find((m) => m.region === 'region2')!;
  const region1 = spec.members.filter((m) => m.region === 'region1');
  const leader = await currentLeader(spec, [remote.name]);
  if (!leader) throw new Error('no primary: nothing to fail back from');
  if (leader.region === 'region1') throw new Error(`${leader.name} in region 1 already leads`);

  const started = Date.now();
  await rejoinRegion1(state, leader, region1);
  const rejoinMs = Date.now() - started;

  progress('synchronous mode back on');
  const patched = await restSend(spec, leader.restPort, 'PATCH', '/config', {
    synchronous_mode: true,
    maximum_lag_on_failover: MAXIMUM_LAG_ON_FAILOVER_BYTES,
  });
  if (patched !== 200) throw new Error(`PATCH /config answered ${patched}`);
  const sync = await waitFor(
    'a synchronous standby in region 1',
    async () => (await clusterView(spec, [leader.name]))?.find((m) => m.role === 'sync_standby'),
    SYNC_LIMIT_MS,
    500,
  );

  progress(`switchover ${leader.name} → ${sync.name}`);
  const switchStarted = Date.now();
  // Patroni refuses a switchover while the candidate's sync state is still settling: retry.
  for (let attempt = 1; ; attempt++) {
    const status = await restSend(spec, leader.restPort, 'POST', '/switchover', {
      leader: leader.name,
      candidate: sync.name,
    });
    if (status === 200) break;
    if (attempt >= SWITCHOVER_RETRIES) throw new Error(`POST /switchover answered ${status}`);
    await sleep(2_000);
  }
  await waitFor(
    `${sync.name} to lead`,
    async () => ((await currentLeader(spec, [sync.name as DcName]))?.name === sync.name ? true : undefined),
    SWITCHOVER_LIMIT_MS,
    200,
  );
  const switchoverMs = Date.now() - switchStarted;

  await setNofailover(remote.patroniConfigPath, true);
  const reloaded = await restSend(spec, remote.restPort, 'POST', '/reload');
  if (reloaded >= 300) throw new Error(`POST /reload on ${remote.name} answered ${reloaded}`);
  await waitHealthy(spec, HEALTHY_LIMIT_MS);
  progress(`region 1 leads again: ${sync.name} primary; ${remote.name} back to asynchronous, nofailover`);
  return { primary: sync.name, rejoinMs, switchoverMs };
}
