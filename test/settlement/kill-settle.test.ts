/**
 * The settlement process killed with SIGKILL mid-batch, at the worst moment: the bank has just
 * received (and paid) a payout the process never hears about. A rerun of `fenqi settle --date`
 * resolves that payout by asking the bank, pays the rest, and in the end every merchant has been
 * paid exactly once exactly what it is owed. The simulated bank runs in this test process and is
 * reached over HTTP (FENQI_PAYOUT_URL), so it outlives the killed process, as a bank does.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { SimulatedPayouts, servePayoutSimulator } from '../../src/payments/payouts.ts';
import { tempDir, waitFor } from '../harness/process.ts';
import { assertLedgerChecks, type Scenario, setBusinessDate, startScenarios } from '../servicing/support.ts';
import { goodsOf, merchantWithKey, order } from './support.ts';

const DATE = '2025-04-01';
const MERCHANTS = 12;
/** The bank kills the settling process as this payout (1-based) reaches it. */
const KILL_AT_SEND = 5;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

describe('settlement survives SIGKILL', () => {
  let s: Scenario;
  let bank: SimulatedPayouts;
  let served: Awaited<ReturnType<typeof servePayoutSimulator>>;
  let child: ChildProcess | undefined;

  before(async () => {
    s = await startScenarios({
      code: 'KILL-SETTLE',
      kind: 'goods',
      tenors: [6],
      rateBp: 0,
      method: 'equal-principal',
      every: 1,
      unit: 'month',
      graceDays: 0,
      minPrincipalMinor: '1000',
      maxPrincipalMinor: '100000000',
      lateFee: { fixedMinor: '1000', bpPerDay: 0, capMinor: null },
    });
    bank = new SimulatedPayouts({ seed: 5, latencyMs: 20 });
    served = await servePayoutSimulator(bank);
  });
  after(async () => {
    child?.kill('SIGKILL');
    await served?.close();
    await s?.lab.close();
  });

  function settle(): Promise<Run> {
    return new Promise((resolve) => {
      child = spawn('./bin/fenqi', ['settle', '--date', DATE, '--json'], {
        env: {
          ...process.env,
          ...s.lab.pg.env(),
          FENQI_DATA_DIR: tempDir('settle-kill'),
          FENQI_PAYOUT_URL: served.url,
          LOG_LEVEL: 'silent',
        },
      });
      const run = { stdout: '', stderr: '' };
      child.stdout!.on('data', (d) => (run.stdout += d));
      child.stderr!.on('data', (d) => (run.stderr += d));
      child.on('exit', (code, signal) => resolve({ ...run, code, signal }));
    });
  }

  test('killed as the bank pays its 5th payout, then rerun: every merchant paid once, exactly what it is owed', async () => {
    const sql = s.lab.platform.db.sql;
    await setBusinessDate(s, DATE);
    for (let i = 0; i < MERCHANTS; i++) {
      const m = await merchantWithKey(s, `Kill Shop ${i}`);
      const discount = await fetch(`${s.lab.baseUrl}/v1/merchants/${m.id}/settlement-terms`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${s.ops}`, 'content-type': 'application/json' },
        body: JSON.stringify({ discount_bp: 100 * (i % 4) }),
      });
      assert.equal(discount.status, 200);
      await order(s, await goodsOf(s, m, `${1000 + 37 * i}.45`));
      await order(s, await goodsOf(s, m, `${200 + i}.10`));
    }
    // what is owed, computed here from the orders and the agreed rates: price less the discount, half-up
    const [owed] = await sql<{ n: number; total: bigint }[]>`
      select count(distinct o.merchant_id)::int as n,
        sum(o.price_minor - round(o.price_minor * t.discount_bp / 10000.0))::bigint as total
      from orders o join merchant_settlement_terms t on t.merchant_id = o.merchant_id`;

    bank.onSend = () => {
      if (bank.sends === KILL_AT_SEND) child?.kill('SIGKILL');
    };
    const killed = await settle();
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    bank.onSend = undefined;
    const [mid] = await sql<{ paid: number; paying: number; open: number }[]>`
      select count(*) filter (where status = 'paid')::int as paid, count(*) filter (where status = 'paying')::int as paying,
        count(*) filter (where status in ('pending', 'failed'))::int as open
      from merchant_settlements where sales_date = ${DATE}::date`;
    assert.equal(mid!.paid, KILL_AT_SEND - 1, 'killed mid-batch: the first payouts were recorded');
    assert.equal(mid!.paying, 1, 'one payout was in flight: the bank paid it, the process never heard');
    assert.equal(mid!.open, MERCHANTS - KILL_AT_SEND, 'the rest were never sent');
    // The bank decides a send after its latency; the killed process's exit can be seen sooner (on a
    // quiet machine it was), so wait for the bank to finish the one in flight before counting.
    await waitFor(
      'the bank to decide the payout in flight',
      async () => bank.totals().payouts >= KILL_AT_SEND,
    );
    assert.equal(bank.totals().payouts, KILL_AT_SEND, 'the bank paid the one in flight');

    const rerun = await settle();
    assert.equal(rerun.code, 0, rerun.stderr);
    const summary = JSON.parse(rerun.stdout.trim().split('\n').at(-1)!);
    assert.equal(summary.built, 0, 'nothing built twice');
    assert.equal(summary.paid, MERCHANTS - KILL_AT_SEND + 1, 'the in-flight one resolved, the rest paid');

    const [after] = await sql<{ paid: number; net: bigint; lines: number }[]>`
      select count(*) filter (where status = 'paid')::int as paid, sum(net_minor)::bigint as net,
        (select count(*)::int from merchant_settlement_lines) as lines
      from merchant_settlements where sales_date = ${DATE}::date`;
    assert.equal(after!.paid, owed!.n);
    assert.equal(after!.lines, 2 * MERCHANTS, 'each order in exactly one settlement');
    assert.equal(after!.net, owed!.total);
    assert.deepEqual(
      bank.totals(),
      { payouts: MERCHANTS, amountMinor: owed!.total },
      'paid exactly what is owed',
    );
    assert.equal(
      bank.sends,
      MERCHANTS,
      'no payout sent twice: the one in flight was resolved by a status query',
    );
    const settlements = await sql<{ id: bigint; net_minor: bigint }[]>`
      select id, net_minor from merchant_settlements where sales_date = ${DATE}::date`;
    for (const st of settlements) assert.equal(bank.paidMinor.get(st.id.toString()), st.net_minor);
    const [entries] = await sql<{ n: number }[]>`
      select count(*)::int as n from journal_entries where kind = 'merchant_payout'`;
    assert.equal(entries!.n, MERCHANTS, 'one payout entry per settlement');
    await assertLedgerChecks(s);
    console.log(
      `settle killed at payout ${KILL_AT_SEND} of ${MERCHANTS}, rerun: ${bank.totals().payouts} payouts, ` +
        `${bank.sends} sends, ${(Number(bank.totals().amountMinor) / 100).toFixed(2)} paid = owed; ledger check ok`,
    );
  });
});
