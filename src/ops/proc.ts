/**
 * Child processes for the topology. PostgreSQL refuses to run as root, so every engine runs as the
 * `postgres` user: spawn's uid/gid (rather than `runuser`) keeps the pid we record the engine's own,
 * which matters when a drill SIGKILLs exactly one process.
 */
import { execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chown, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface RunAs {
  uid: number;
  gid: number;
  home: string;
}

let cachedPostgresUser: RunAs | undefined;

/** The `postgres` account from /etc/passwd; when we are not root we run as ourselves. */
export function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (cachedPostgresUser) return cachedPostgresUser;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user: apt-get install postgresql');
  const fields = line.split(':');
  cachedPostgresUser = {
    uid: Number(fields[2]),
    gid: Number(fields[3]),
    home: fields[5] ?? '/var/lib/postgresql',
  };
  return cachedPostgresUser;
}

export async function mkdirOwned(dir: string, mode = 0o700): Promise<void> {
  await mkdir(dir, { recursive: true, mode });
  const user = postgresUser();
  if (user) await chown(dir, user.uid, user.gid);
}

export function chownToPostgres(file: string): void {
  const user = postgresUser();
  if (user) chownSync(file, user.uid, user.gid);
}

/** Binary → the Debian package that provides it, for a helpful error when it is missing. */
export const PACKAGE_OF: Record<string, string> = {
  '/usr/bin/patroni': 'patroni',
  '/usr/bin/patronictl': 'patroni',
  '/usr/bin/etcd': 'etcd-server',
  '/usr/bin/etcdctl': 'etcd-client',
  '/usr/bin/pgbackrest': 'pgbackrest',
  '/usr/sbin/nats-server': 'nats-server',
  '/usr/lib/postgresql/15/bin/postgres': 'postgresql-15',
};

export function missingBinaries(binaries: string[]): string[] {
  return binaries
    .filter((b) => !existsSync(b))
    .map((b) => `${b} missing: apt-get install ${PACKAGE_OF[b] ?? b}`);
}

function childEnv(user: RunAs | undefined, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: `/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: user?.home ?? process.env.HOME ?? '/tmp',
    USER: user ? 'postgres' : (process.env.USER ?? ''),
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    ...extra,
  };
}

/** Starts a long-running engine detached, output appended to logPath; returns its pid. */
export function spawnDaemon(
  command: string,
  args: string[],
  logPath: string,
  options: { cwd?: string; env?: Record<string, string> } = {},
): number {
  const user = postgresUser();
  const fd = openSync(logPath, 'a', 0o600);
  chownToPostgres(logPath);
  const child = spawn(command, args, {
    cwd: options.cwd ?? path.dirname(logPath),
    env: childEnv(user, options.env),
    stdio: ['ignore', fd, fd],
    detached: true,
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  child.unref();
  return child.pid;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a short command as postgres and returns its output; throws with stderr on failure. */
export async function runAsPostgres(
  command: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const user = postgresUser();
  try {
    const { stdout, stderr } = await execFileP(command, args, {
      cwd: options.cwd ?? '/tmp',
      env: childEnv(user, options.env),
      timeout: options.timeoutMs ?? 300_000,
      maxBuffer: 64 * 1024 * 1024,
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    return { stdout, stderr };
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    const detail = (e.stderr || e.stdout || e.message).trim().split('\n').slice(-8).join('\n');
    throw new Error(
      `${path.basename(command)} ${args.filter((a) => !a.startsWith('--config')).join(' ')}: ${detail}`,
    );
  }
}

/** How long a server asked to stop (SIGTERM/SIGINT) gets to shut down before it is killed. */
export const GRACEFUL_STOP_LIMIT_MS = 20_000;
const EXIT_POLL_MS = 200;

/** Waits until none of `pids` runs, or `limitMs` has passed; true when all have gone. */
export async function waitForExit(
  pids: readonly (number | undefined)[],
  limitMs: number = GRACEFUL_STOP_LIMIT_MS,
  pollMs: number = EXIT_POLL_MS,
): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (pids.some(isAlive)) {
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
  }
  return true;
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); it is dead for our purposes.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Every descendant of pid (children first found through /proc/<pid>/stat parent ids). */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(entry), Number(fields[1]));
    } catch {
      // the process ended while we looked
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const [child, parent] of parentOf) {
      if (parent === current) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** A process and everything under it. */
export function treePids(pid: number | undefined): number[] {
  return pid ? [pid, ...descendants(pid)] : [];
}

/**
 * Sends `signal` to every pid. A SIGKILL is a machine lost, so every process is frozen (SIGSTOP)
 * before any is killed: otherwise one that is killed late can run after the others died. A
 * PostgreSQL backend that sees its postmaster gone aborts its transaction on the way out, and on a
 * Citus coordinator that abort sends ROLLBACK PREPARED for a two-phase commit in flight: a
 * coordinator "killed" before its commit record then rolled back halves itself, which a lost
 * machine never does (the killing process only has to lose the CPU between two kills, as it does
 * on a loaded machine).
 */
export function signalAll(pids: number[], signal: NodeJS.Signals = 'SIGKILL'): void {
  if (signal === 'SIGKILL') sendEach(pids, 'SIGSTOP');
  sendEach(pids, signal);
}

function sendEach(pids: number[], signal: NodeJS.Signals): void {
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGKILL a process and everything under it, as a machine loss would. */
export function killTree(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  signalAll(treePids(pid), signal);
}

export function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Thrown from a waitFor probe when waiting longer cannot help (the process died). */
export class GiveUp extends Error {
  override name = 'GiveUp';
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  limitMs: number,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      lastError = err;
    }
    await sleep(intervalMs);
  }
  const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`timed out after ${limitMs} ms waiting for ${what}${reason}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Progress lines on stderr, timestamped, so a drill that takes a minute is never silent. */
export function progress(message: string): void {
  if (process.env.FENQI_OPS_QUIET === '1') return;
  process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${message}\n`);
}
