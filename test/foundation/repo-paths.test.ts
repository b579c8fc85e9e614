/**
 * A clone of the repository is all a user has: nothing the platform, its tests or its benches read
 * may live outside it. Two checks: every relative path written in the code resolves to something
 * in the checkout, and a real embedded start (traced by strace, with a credit decision that trains
 * the bootstrap champion) touches no file outside the checkout, its data directory, the
 * temporary directory and the system's own directories.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from '../../src/paths.ts';
import { HOLDER_FILE } from '../../src/store/data-dir.ts';
import { stopChild, tempDir, waitFor } from '../harness/process.ts';

/** Folders holding code that runs: the ones a path in them could lead out of the clone from. */
const CODE_DIRS = ['src', 'test', 'bench', 'scripts', 'web', 'bin'];
const CODE_FILE = /\.(ts|js|mjs|sh)$|^fenqi$/;
/** System directories a process may read: libraries, devices, kernel views, locale and TLS roots. */
const SYSTEM_PREFIXES = ['/usr/', '/lib/', '/lib64/', '/etc/', '/proc/', '/sys/', '/dev/', '/run/', '/bin/'];
const START_TIMEOUT_MS = 120_000;

function codeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : codeFiles(full);
    return CODE_FILE.test(entry.name) ? [full] : [];
  });
}

/** String literals that start with ../ or ./ and are not import specifiers. */
function relativePathLiterals(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split('\n')) {
    if (/^\s*(import|export)\b.*\bfrom\b|\bimport\(|^\s*\}\s*from\b/.test(line)) continue;
    for (const match of line.matchAll(/['"`](\.\.?\/[^'"`$\s]*)['"`]/g)) found.push(match[1]!);
  }
  return found;
}

function insideRepo(p: string): boolean {
  const relative = path.relative(REPO_ROOT, p);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

describe('nothing outside the repository', () => {
  test('every relative path literal in the code resolves to something in the checkout', () => {
    const offenders: string[] = [];
    for (const dir of CODE_DIRS) {
      for (const file of codeFiles(path.join(REPO_ROOT, dir))) {
        for (const literal of relativePathLiterals(readFileSync(file, 'utf8'))) {
          // a bare "../" or "./" is data (path-traversal probes in the fuzz test), not a path we open
          if (/^\.\.?\/$/.test(literal)) continue;
          // paths are resolved from their own file (import.meta) or from the checkout's root (the
          // working directory every command and test runs in): either must land in the checkout
          const candidates = [path.resolve(path.dirname(file), literal), path.resolve(REPO_ROOT, literal)];
          if (!candidates.some((resolved) => insideRepo(resolved) && existsSync(resolved))) {
            offenders.push(`${path.relative(REPO_ROOT, file)}: '${literal}'`);
          }
        }
      }
    }
    assert.deepEqual(offenders, []);
  });

  test('no code names the reference material beside the checkout', () => {
    const offenders = CODE_DIRS.flatMap((dir) =>
      codeFiles(path.join(REPO_ROOT, dir)).filter((file) =>
        /\.\.\/shared\/(data|vendor)\b|\/work\/shared\b/.test(readFileSync(file, 'utf8')),
      ),
    );
    assert.deepEqual(
      offenders
        .map((f) => path.relative(REPO_ROOT, f))
        .filter((f) => f !== 'test/foundation/repo-paths.test.ts'),
      [],
    );
  });
});

/** A traced fenqi's shutdown is slow (every file call is stopped and written down). */
const TRACED_STOP_TIMEOUT_MS = 30_000;

function readHolderPid(dataDir: string): number | undefined {
  try {
    const { pid } = JSON.parse(readFileSync(path.join(dataDir, HOLDER_FILE), 'utf8')) as { pid: unknown };
    return Number.isInteger(pid) ? (pid as number) : undefined;
  } catch {
    return undefined;
  }
}

describe('an embedded start, traced', {
  skip: !existsSync('/usr/bin/strace') && 'strace is not installed',
}, () => {
  let child: ChildProcess;
  let dataDir: string;
  let traceFile: string;
  let output = '';

  before(async () => {
    dataDir = tempDir('traced');
    traceFile = path.join(tempDir('trace'), 'files.trace');
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', FENQI_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    delete env.DATABASE_URL;
    delete env.REDIS_URL;
    delete env.NATS_URL;
    // %file: every system call that takes a path; -f: the threads and children too
    child = spawn(
      'strace',
      ['-f', '-qq', '-e', 'trace=%file', '-e', 'signal=none', '-o', traceFile, './bin/fenqi', 'start'],
      { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    await waitFor('traced fenqi start', async () => /customer\s+phone/.test(output), START_TIMEOUT_MS);
  });

  after(async () => {
    if (!child) return;
    // strace run with -o blocks fatal signals (its -I 3 default) and, killed, would leave fenqi running
    // with the test's pipes open: the signal goes to fenqi itself (the data directory names its pid),
    // and strace exits with it.
    const holder = readHolderPid(dataDir);
    if (holder !== undefined) process.kill(holder, 'SIGTERM');
    await stopChild(child, 'SIGTERM', TRACED_STOP_TIMEOUT_MS);
  });

  test('the platform opens no file outside the checkout, its data directory and the system', async () => {
    const url = /API:\s+(http:\/\/\S+)/.exec(output)![1]!;
    const login = /customer\s+phone (\S+)\s+password (\S+)/.exec(output)!;
    const auth = await fetch(`${url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: login[1], password: login[2] }),
    });
    const { access_token: token } = (await auth.json()) as { access_token: string };
    const applied = await fetch(`${url}/v1/credit-applications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ stated_income: '12000.00', purpose: 'goods', device_id: 'traced-start-device' }),
    });
    assert.equal(applied.status, 200, await applied.clone().text());
    await stopChild(child, 'SIGTERM');

    const allowed = [
      REPO_ROOT + path.sep,
      dataDir + path.sep,
      tmpdir() + path.sep,
      path.dirname(path.dirname(process.execPath)) + path.sep,
      ...SYSTEM_PREFIXES,
    ];
    // realpath() and module resolution look at each folder above the checkout, not into it
    const ancestors = new Set<string>();
    for (let dir = REPO_ROOT; dir !== path.dirname(dir); dir = path.dirname(dir))
      ancestors.add(path.dirname(dir));
    const outside = new Set<string>();
    let opened = 0;
    for (const line of readFileSync(traceFile, 'utf8').split('\n')) {
      // 1234 openat(AT_FDCWD, "/path", O_RDONLY|O_CLOEXEC) = 3    (a failed look-up ends "= -1 ENOENT ...")
      const match = /^\d+\s+\w+\((?:AT_FDCWD, |-?\d+, )?"([^"]+)".*\)\s+=\s+(-?\d+)/.exec(line);
      if (!match || Number(match[2]) < 0) continue;
      opened += 1;
      const file = path.resolve(REPO_ROOT, match[1]!);
      if (ancestors.has(file)) continue;
      if (![file + path.sep, file].some((f) => allowed.some((a) => f.startsWith(a) || `${f}/` === a)))
        outside.add(file);
    }
    assert.ok(opened > 100, `the trace saw the start (${opened} paths)`);
    assert.ok(
      readFileSync(traceFile, 'utf8').includes(path.join(REPO_ROOT, 'data', 'german_credit.csv')),
      'the bootstrap champion was trained from data/ in the checkout',
    );
    assert.deepEqual([...outside].sort(), []);
  });
});
