/**
 * The embedded data directory (FENQI_DATA_DIR): one process at a time, readable by its owner only.
 *
 * PGlite is a whole database inside one process. A second process that opened the same directory
 * would run on its own copy of the pages and one of the two would lose its writes (a close of
 * business run from a second terminal was lost this way), so the first process to open the
 * directory holds it until it exits and every other one is refused with the holder's pid.
 *
 * The hold is a Linux abstract-namespace socket named after the directory: the kernel frees it
 * when the holder exits, even by SIGKILL, so there is no stale lock to clean up and no race between
 * two processes taking over a stale one. The pid file beside it only tells others who holds it.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const HOLDER_FILE = 'holder.json';
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
/** Files and directories created by an embedded process: owner-only. */
export const PRIVATE_UMASK = 0o077;
/** A data directory holds about a thousand files; a tree far bigger than that is not ours. */
export const MAX_PRIVATE_TREE_ENTRIES = 100_000;

export interface Holder {
  pid: number;
  /** The command the holder runs (`start`, `cob`...), for the refusal message. */
  command: string;
  /** The holder's API, once it listens: where to send work instead. */
  url?: string;
}

export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: Holder | undefined,
  ) {
    const who = holder ? `fenqi pid ${holder.pid} (fenqi ${holder.command})` : 'another fenqi process';
    const via = holder?.url
      ? `stop it first, or do this through its API at ${holder.url} (e.g. fenqi cob --api ${holder.url})`
      : 'stop it first, or do this through its API';
    super(`the embedded data directory ${dataDir} is in use by ${who}: ${via}`);
    this.name = 'DataDirInUseError';
  }
}

export interface DataDirHold {
  /** Records where the holder can be reached (its API URL), for the refusal others get. */
  describe(update: Partial<Holder>): void;
  release(): Promise<void>;
}

/** The socket name: one per directory, whatever path spelling led to it. */
function holdName(dataDir: string): string {
  const digest = createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 32);
  return `\0fenqi-data-dir-${digest}`;
}

function readHolder(dataDir: string): Holder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path.join(dataDir, HOLDER_FILE), 'utf8')) as Holder;
    return Number.isInteger(parsed.pid) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function listen(server: net.Server, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: name, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Takes the directory for this process (creating it private), or throws DataDirInUseError naming
 * the process that has it.
 */
export async function holdDataDir(dataDir: string, command: string): Promise<DataDirHold> {
  makePrivateDir(dataDir);
  const server = net.createServer((socket) => socket.destroy());
  try {
    await listen(server, holdName(dataDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new DataDirInUseError(dataDir, readHolder(dataDir));
    }
    throw err;
  }
  // the socket must not keep a finished command alive; the hold lasts while anything else does
  server.unref();
  const holderPath = path.join(dataDir, HOLDER_FILE);
  let holder: Holder = { pid: process.pid, command };
  const write = () => writeFileSync(holderPath, JSON.stringify(holder), { mode: PRIVATE_FILE_MODE });
  write();
  return {
    describe(update) {
      holder = { ...holder, ...update };
      write();
    },
    async release() {
      if (readHolder(dataDir)?.pid === process.pid) rmSync(holderPath, { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/**
 * Makes every file under `dir` owner-only. PGlite unpacks its initial database with mode 666 and
 * writes some files 644 whatever the umask, so the tree is walked once it is open.
 */
export function makePrivateTree(dir: string): void {
  const pending = [dir];
  let seen = 0;
  while (pending.length > 0) {
    const current = pending.pop()!;
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      seen += 1;
      if (seen > MAX_PRIVATE_TREE_ENTRIES)
        throw new Error(`${dir} holds over ${MAX_PRIVATE_TREE_ENTRIES} entries`);
      const full = path.join(current, entry.name);
      if (entry.isSymbolicLink()) continue;
      if (entry.isDirectory()) {
        chmodSync(full, PRIVATE_DIR_MODE);
        pending.push(full);
      } else if ((lstatSync(full).mode & 0o077) !== 0) {
        chmodSync(full, PRIVATE_FILE_MODE);
      }
    }
  }
}
