/**
 * `fenqi ops` from the command line: usage errors exit 2, and a drill with no topology configured
 * stands one up, prints progress on stderr, writes its reports, prints the JSON report as its
 * last stdout line and exits 0 on a pass.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BINARIES_POSTGRES } from '../../src/ops/cluster.ts';
import { missingBinaries } from '../../src/ops/proc.ts';

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
  });
});
