/**
 * `fenqi ops status` on a Citus topology: per group (the coordinator, each worker) who leads, which
 * member is the synchronous standby, and how each standby streams as its leader's
 * pg_stat_replication says; on the plain topology (no standbys) whether each node answers.
 */
import { citusGroupProbe, groupsOf, queryRows } from './citus-patroni.ts';
import { type CitusState, citusNodeUrl } from './citus-topology.ts';
import { isRunning } from './cluster.ts';

export interface CitusStandbyStatus {
  name: string;
  /** streaming, catchup... as pg_stat_replication says; null when the leader does not list it. */
  state: string | null;
  /** sync, async, potential; null when the leader does not list it. */
  syncState: string | null;
  lagBytes: number | null;
}

export interface CitusGroupStatus {
  group: number;
  role: 'coordinator' | 'worker';
  leader: { name: string; port: number } | null;
  syncStandby: string | null;
  standbys: CitusStandbyStatus[];
}

export interface CitusStatus {
  at: string;
  kind: CitusState['kind'];
  groups: CitusGroupStatus[];
}

interface ReplicationRow {
  name: string;
  state: string;
  sync_state: string;
  lag_bytes: string | null;
}

export async function citusStatus(state: CitusState): Promise<CitusStatus> {
  const at = new Date().toISOString();
  if (state.kind === 'citus') {
    const groups = await Promise.all(
      state.nodes.map(async (node, group): Promise<CitusGroupStatus> => {
        const up = await queryRows(citusNodeUrl(state, node, 'superuser', 'postgres'), 'select 1').then(
          () => true,
          () => false,
        );
        const leader = up ? { name: node.name, port: node.port } : null;
        return {
          group,
          role: group === 0 ? 'coordinator' : 'worker',
          leader,
          syncStandby: null,
          standbys: [],
        };
      }),
    );
    return { at, kind: state.kind, groups };
  }
  const probe = citusGroupProbe(state.plan);
  const groups = await Promise.all(
    groupsOf(state.plan).map(async (group): Promise<CitusGroupStatus> => {
      const view = await probe.view(group);
      const leaderView = view.find((v) => v.role === 'leader' && isRunning(v));
      const leader = state.plan.members.find((m) => m.name === leaderView?.name);
      const rows = leader
        ? ((await queryRows(
            probe.adminUrl(leader.pgPort, 'postgres'),
            `select application_name as name, state, sync_state,
                    pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text as lag_bytes
             from pg_stat_replication`,
          ).catch(() => [])) as unknown as ReplicationRow[])
        : [];
      const standbys = state.plan.members
        .filter((m) => m.group === group && m.name !== leader?.name)
        .map((m) => {
          const row = rows.find((r) => r.name === m.name);
          const lag = row?.lag_bytes;
          return {
            name: m.name,
            state: row?.state ?? null,
            syncState: row?.sync_state ?? null,
            lagBytes: lag === null || lag === undefined ? null : Number(lag),
          };
        });
      const sync = view.find((v) => v.role === 'sync_standby' && isRunning(v));
      return {
        group,
        role: group === 0 ? 'coordinator' : 'worker',
        leader: leader ? { name: leader.name, port: leader.pgPort } : null,
        syncStandby: sync?.name ?? null,
        standbys,
      };
    }),
  );
  return { at, kind: state.kind, groups };
}

export function formatCitusStatus(status: CitusStatus): string {
  const lines = [
    `citus topology (${status.kind === 'citus' ? 'no standbys' : 'Patroni groups'}) at ${status.at}`,
  ];
  for (const g of status.groups) {
    const leader = g.leader ? `${g.leader.name} (127.0.0.1:${g.leader.port})` : 'NONE';
    const head = `  group ${g.group} ${g.role.padEnd(11)} leader ${leader}`;
    const sync = status.kind === 'citus' ? '' : `  sync standby ${g.syncStandby ?? 'NONE'}`;
    lines.push(head + sync);
    for (const s of g.standbys) {
      lines.push(
        `    standby ${s.name}: ${s.state ?? 'not streaming'}${s.syncState ? ` ${s.syncState}` : ''}, lag ${s.lagBytes ?? '?'} bytes`,
      );
    }
  }
  return lines.join('\n');
}
