/**
 * `fenqi ops` from the command line: usage errors exit 2, and a drill with no topology configured
 * stands one up, prints progress on stderr, writes its reports, prints the JSON report as its
 * last stdout line and exits 0 on a pass, and `ops reports` lists that run with its kind, date and
 * outcome; `ops up --citus --no-standbys` stands up a coordinator and two workers
 * the platform reaches through DATABASE_URL over verified TLS, and `ops down` stops them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BINARIES_POSTGRES } from '../../src/ops/cluster.ts';
import { isAlive, missingBinaries, postmasterPid } from '../../src/ops/proc.ts';
import { openPostgres } from '../../src/store/db.ts';
import { citusUnavailableReason } from '../harness/citus.ts';

const FENQI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/fenqi');
const DRILL_LIMIT_MS = 180_000;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(FENQI, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), DRILL_LIMIT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('fenqi ops', () => {
  let scratch: string;

  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'fenqi-ops-cli-'));
  });

  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  test('usage errors exit 2', async () => {
    const bad = await run(['ops', 'drill', 'earthquake', '--dir', path.join(scratch, 'none')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /failover, region, restore/);
    const noTopology = await run(['ops', 'status', '--dir', path.join(scratch, 'none')]);
    assert.equal(noTopology.code, 2);
    assert.match(noTopology.stderr, /fenqi ops up/);
    const badType = await run(['ops', 'backup', '--type', 'weekly', '--dir', path.join(scratch, 'none')]);
    assert.equal(badType.code, 2);
  });

  test('drill failover stands up its own topology and prints the JSON report last', async () => {
    const missing = missingBinaries(BINARIES_POSTGRES);
    assert.deepEqual(missing, [], missing.join('; '));
    const reportDir = path.join(scratch, 'reports');
    const result = await run([
      'ops',
      'drill',
      'failover',
      '--dir',
      path.join(scratch, 'none'),
      '--report-dir',
      reportDir,
    ]);
    const lastLine = result.stdout.trim().split('\n').at(-1)!;
    const report = JSON.parse(lastLine);
    assert.equal(result.code, 0, `${report.summary}\n${result.stderr.slice(-2000)}`);
    assert.equal(report.verdict, 'pass');
    assert.equal(report.ownTopology, true);
    assert.equal(report.figures.writesLost, 0);
    assert.match(result.stderr, /standing up the one-machine topology/);
    assert.match(result.stderr, /failover drill: .*writes acked/);
    assert.match(result.stderr, /tearing down the drill topology/);
    assert.ok(existsSync(report.files.json) && existsSync(report.files.markdown));
    // the run is kept where `fenqi ops reports` lists it: once, with its kind, date and outcome
    const listed = await run([
      'ops',
      'reports',
      '--drills-dir',
      reportDir,
      '--rehearsals-dir',
      path.join(scratch, 'no-rehearsals'),
    ]);
    assert.equal(listed.code, 0, listed.stderr);
    const entries = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(entries, [
      {
        kind: 'failover',
        date: report.startedAt,
        outcome: 'pass',
        summary: report.summary,
        files: [report.files.json, report.files.markdown],
      },
    ]);
  });

  test('ops up --citus --no-standbys serves DATABASE_URL from a coordinator with two workers; ops down stops every node', {
    skip: citusUnavailableReason() ?? false,
  }, async () => {
    // PostgreSQL runs as the postgres user, which must reach its directory through this one
    await chmod(scratch, 0o755);
    const dir = path.join(scratch, 'citus');
    const up = await run(['ops', 'up', '--citus', '--no-standbys', '--dir', dir]);
    assert.equal(up.code, 0, up.stderr.slice(-2000));
    const url = /DATABASE_URL='([^']+)'/.exec(up.stdout)?.[1];
    assert.ok(url?.includes('sslmode=verify-full'), up.stdout);
    const state = JSON.parse(await readFile(path.join(dir, 'citus.json'), 'utf8')) as {
      nodes: { name: string; port: number; dataDir: string }[];
    };
    const sql = openPostgres(url!, { max: 1, onnotice: () => {} });
    const pids = state.nodes.map((n) => postmasterPid(n.dataDir));
    let down: Awaited<ReturnType<typeof run>> | undefined;
    try {
      const workers = await sql<
        { node_port: number }[]
      >`select node_port from citus_get_active_worker_nodes()`;
      assert.deepEqual(
        workers.map((w) => Number(w.node_port)).sort(),
        state.nodes
          .filter((n) => n.name !== 'coordinator')
          .map((n) => n.port)
          .sort(),
      );
      const [tls] = await sql<{ ssl: boolean }[]>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`;
      assert.equal(tls?.ssl, true);
      assert.ok(pids.every(isAlive), 'every node runs');
    } finally {
      await sql.end({ timeout: 2 });
      // stopped even when an assertion above failed
      down = await run(['ops', 'down', '--dir', dir]);
    }
    assert.equal(down?.code, 0, down?.stderr);
    assert.ok(!existsSync(dir), 'the topology directory is removed');
    assert.ok(!pids.some(isAlive), 'no node runs any more');
  });
});
