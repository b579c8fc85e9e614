/**
 * Child server processes for tests: free loopback ports, throwaway directories, waiting until a
 * port accepts connections, and a safety net that kills every child when the test process exits
 * (also when a test fails or throws), so no server outlives its test file.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SERVER_START_TIMEOUT_MS = 30_000;
const PORT_POLL_MS = 50;

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export class MissingBinaryError extends Error {
  constructor(binary: string, debianPackage: string) {
    super(
      `${binary} not found: install it with \`sudo apt-get install -y ${debianPackage}\` ` +
        '(or run `bash scripts/install-services.sh`)',
    );
    this.name = 'MissingBinaryError';
  }
}

export function findBinary(candidates: string[], debianPackage: string): string {
  for (const candidate of candidates) {
    if (candidate.includes('/')) {
      if (existsSync(candidate)) return candidate;
      continue;
    }
    try {
      return execFileSync('sh', ['-c', `command -v ${candidate}`], { encoding: 'utf8' }).trim();
    } catch {
      // try the next candidate
    }
  }
  throw new MissingBinaryError(candidates[0] ?? debianPackage, debianPackage);
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `fenqi-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = SERVER_START_TIMEOUT_MS,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, PORT_POLL_MS));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

export interface SpawnedServer {
  child: ChildProcess;
  /** Last lines the server printed, for failure messages. */
  output(): string;
}

export function spawnServer(
  command: string,
  args: string[],
  options: { uid?: number; gid?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): SpawnedServer {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    if (lines.length > 50) lines.splice(0, lines.length - 50);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => lines.join('\n') };
}

/**
 * Spawns a server and waits until `ready` says it serves. Fails fast if it exits, and a failure
 * carries the server's last lines either way.
 */
export async function startServer(
  what: string,
  command: string,
  args: string[],
  ready: (server: SpawnedServer) => Promise<boolean>,
  options: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<SpawnedServer> {
  const server = spawnServer(command, args, options);
  await waitFor(what, async () => {
    if (server.child.exitCode !== null) throw new Error(`${what} exited`);
    return ready(server);
  }).catch((err: Error) => {
    throw new Error(`${err.message}:\n${server.output()}`);
  });
  return server;
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** The uid/gid to run PostgreSQL as: it refuses root, so as root we switch to `postgres`. */
export function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new MissingBinaryError('postgres user', 'postgresql');
  }
}
