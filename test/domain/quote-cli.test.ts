/** `fenqi quote` run as a user runs it: a child process of ./bin/fenqi, output read back. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const fenqi = fileURLToPath(new URL('../../bin/fenqi', import.meta.url));

function run(args: string[]) {
  const r = spawnSync(fenqi, ['quote', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('fenqi quote', () => {
  it('prints one JSON object with the schedule, totals and APR', () => {
    const r = run([
      '--principal',
      '12000.00',
      '--rate',
      '24',
      '--tenor',
      '12',
      '--start',
      '2024-01-31',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const q = JSON.parse(lines[0]!);
    assert.equal(q.down_payment, '0.00');
    assert.equal(q.installments.length, 12);
    assert.deepEqual(q.installments[0], {
      number: 1,
      due_date: '2024-02-29',
      principal: '894.72',
      interest: '240.00',
      fee: '0.00',
      total: '1134.72',
      balance: '11105.28',
    });
    assert.equal(q.installments[11].total, '1134.67');
    assert.equal(q.installments[11].balance, '0.00');
    assert.equal(q.total_interest, '1616.59');
    assert.equal(q.total_fees, '0.00');
    assert.equal(q.apr, '26.82');
  });

  it('quotes a pay in 4 with a 25% down payment and three installments every 15 days', () => {
    const r = run([
      '--principal',
      '100',
      '--rate',
      '0',
      '--tenor',
      '3',
      '--every',
      '15',
      '--unit',
      'day',
      '--down-payment-percent',
      '25',
      '--start',
      '2024-01-31',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const q = JSON.parse(r.stdout);
    assert.equal(q.down_payment, '25.00');
    assert.deepEqual(
      q.installments.map((i: { due_date: string; total: string }) => `${i.due_date} ${i.total}`),
      ['2024-02-15 25.00', '2024-03-01 25.00', '2024-03-16 25.00'],
    );
    assert.equal(q.apr, '0.00');
  });

  it('prints whole yen in multiples of 100 with --decimals 0 --multiple 100', () => {
    const r = run([
      '--principal',
      '10000',
      '--rate',
      '18',
      '--tenor',
      '3',
      '--method',
      'equal-principal',
      '--decimals',
      '0',
      '--multiple',
      '100',
      '--start',
      '2024-01-15',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const q = JSON.parse(r.stdout);
    assert.deepEqual(
      q.installments.map((i: { total: string }) => i.total),
      ['3500', '3400', '3500'],
    );
  });

  it('prints an aligned table without --json', () => {
    const r = run(['--principal', '1000', '--rate', '12', '--tenor', '3', '--start', '2024-01-15']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => /^\s+\d+\s+2024-/.test(l));
    assert.equal(rows.length, 3);
    assert.equal(new Set(rows.map((l) => l.length)).size, 1, 'rows are aligned to the same width');
    assert.match(r.stdout, /APR \d+\.\d\d%/);
  });

  it('exits 2 with a one-line error on a bad flag value', () => {
    const r = run(['--principal', '12000.00', '--rate', '24', '--tenor', '12', '--unit', 'fortnight']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /--unit/);
  });

  it('exits 2 with one line when a required flag is missing or an amount has too many decimals', () => {
    for (const args of [
      ['--rate', '24', '--tenor', '12'],
      ['--principal', '1.234', '--rate', '24', '--tenor', '12'],
      ['--principal', '100', '--rate', '24', '--tenor', '0'],
      ['--principal', '100', '--rate', '24', '--tenor', '3', '--start', '2023-02-29'],
    ]) {
      const r = run(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  it('refuses with exit 2 a quote above --apr-cap', () => {
    const r = run(['--principal', '12000', '--rate', '24', '--tenor', '12', '--apr-cap', '24', '--json']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /APR 26\.8\d% exceeds the cap of 24\.00%/);
  });
});
