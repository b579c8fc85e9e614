/**
 * CPU seconds used by processes over a window, read from /proc (Linux): a benchmark can then say
 * how much CPU one request costs in each part of the system (API, PostgreSQL, Redis, the load
 * generator) and so how many cores a target rate needs, which a 2-core shared machine cannot
 * measure directly.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

interface Stat {
  ppid: number;
  cpuS: number;
}

/** utime + stime of one process, or undefined when it is gone. */
function statOf(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // the command name (field 2) may hold spaces and parentheses: fields are counted after its ')'
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { ppid, cpuS: ticks / CLOCK_TICKS_PER_S };
}

/** A process and all of its descendants (e.g. a postmaster and its backends). */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const s = statOf(pid);
    if (!s) continue;
    const list = children.get(s.ppid);
    if (list) list.push(pid);
    else children.set(s.ppid, [pid]);
  }
  const out: number[] = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** CPU seconds per pid right now. */
export type CpuSnapshot = Map<number, number>;

export function snapshot(pids: number[]): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  for (const pid of pids) {
    const s = statOf(pid);
    if (s) out.set(pid, s.cpuS);
  }
  return out;
}

/**
 * CPU seconds used between two snapshots; a process that appeared in between counts whole, one
 * that ended in between is lost (keep the window inside the lifetime of what it measures).
 */
export function usedBetween(before: CpuSnapshot, after: CpuSnapshot): number {
  let total = 0;
  for (const [pid, cpuS] of after) total += cpuS - (before.get(pid) ?? 0);
  return total;
}
