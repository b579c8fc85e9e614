/**
 * `fenqi loan ...`: an operator's servicing from the command line, through a running API as a staff
 * user (role checks, idempotency, audit as in the console). Goods: 600.00 in 6 x 100.00 from
 * 2025-01-01, a 10.00 late fee, no grace.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashPassword } from '../../src/store/passwords.ts';
import { runFenqi } from '../harness/cli.ts';
import {
  accountOfLoan,
  assertLedgerChecks,
  buy,
  closeDate,
  loanState,
  type Scenario,
  setBusinessDate,
  startScenarios,
} from './support.ts';

const PASSWORD = 'cli-ops-password-1';

describe('fenqi loan (servicing from the command line)', () => {
  let s: Scenario;
  before(async () => {
    s = await startScenarios();
    await s.lab.platform.db.sql`
      insert into staff (username, role, password_hash) values ('cli-ops', 'ops', ${await hashPassword(PASSWORD)})`;
  });
  after(async () => {
    await s?.lab.close();
  });

  const fenqi = (args: string[]) =>
    runFenqi(['loan', ...args, '--api', s.lab.baseUrl, '--username', 'cli-ops'], {
      FENQI_PASSWORD: PASSWORD,
      LOG_LEVEL: 'silent',
    });
  const answer = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);

  test('waive, re-age, charge, return and write off through the API; a refusal exits non-zero with its code', async () => {
    // | date       | command                                            | expected                          |
    // | 2025-03-05 | close                                              | #1, #2 overdue, 20.00 penalties   |
    // | 2025-03-06 | fenqi loan waive --component penalty --amount 20.00 | 201                               |
    // | 2025-03-06 | fenqi loan re-age --consent HS-CLI                 | 201; #7, #8 added; 0 dpd          |
    // | 2025-03-06 | fenqi loan re-age (again, new key)                 | exit 1..2, NOTHING_PAST_DUE       |
    // | 2025-03-06 | fenqi loan charge --amount 15.00                   | 201, #3 fee 15.00                 |
    // | 2025-03-06 | fenqi loan return --order (second order) 100.00    | 201                               |
    // | 2025-03-06 | fenqi loan write-off                               | 200, loan written off             |
    await setBusinessDate(s, '2025-01-01');
    const { loanId } = await buy(s, 60_000n);
    await closeDate(s, '2025-03-05');
    await setBusinessDate(s, '2025-03-06');
    const loan = loanId.toString();
    const waived = await fenqi([
      'waive',
      '--loan',
      loan,
      '--component',
      'penalty',
      '--amount',
      '20.00',
      '--reason',
      'hardship',
    ]);
    assert.equal(waived.code, 0, waived.stderr);
    assert.equal(answer(waived.stdout).status, 201);
    assert.match(waived.stderr, /idempotency key \S+/);

    const reAged = await fenqi(['re-age', '--loan', loan, '--consent', 'HS-CLI', '--key', 'cli-re-age']);
    assert.equal(reAged.code, 0, reAged.stderr);
    assert.deepEqual(
      answer(reAged.stdout).new_installments.map((i: { number: number }) => i.number),
      [7, 8],
    );
    const retried = await fenqi(['re-age', '--loan', loan, '--consent', 'HS-CLI', '--key', 'cli-re-age']);
    assert.equal(retried.code, 0, 'the same key answers the same');
    assert.deepEqual(answer(retried.stdout), answer(reAged.stdout));
    const again = await fenqi(['re-age', '--loan', loan, '--consent', 'HS-CLI']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /NOTHING_PAST_DUE/);
    assert.equal((await loanState(s, loanId)).days_past_due, 0);

    const charged = await fenqi([
      'charge',
      '--loan',
      loan,
      '--amount',
      '15.00',
      '--reason',
      'returned payment',
    ]);
    assert.equal(charged.code, 0, charged.stderr);
    assert.equal(answer(charged.stdout).installments[0].number, 3, 'on the oldest open installment');
    assert.equal(await accountOfLoan(s, loanId, '4200'), -1_500n, 'fee income 15.00');

    const other = await buy(s, 30_000n);
    const returned = await fenqi(['return', '--order', other.orderId, '--amount', '100.00']);
    assert.equal(returned.code, 0, returned.stderr);
    assert.equal(answer(returned.stdout).status, 201);

    const written = await fenqi(['write-off', '--loan', loan, '--reason', 'fraud confirmed']);
    assert.equal(written.code, 0, written.stderr);
    assert.equal((await loanState(s, loanId)).status, 'written_off');
    const bad = await fenqi(['re-age', '--loan', 'x1', '--consent', 'HS']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--loan must be an id/);
    await assertLedgerChecks(s);
  });
});
