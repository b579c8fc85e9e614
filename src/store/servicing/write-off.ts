/**
 * Writing off one loan by hand on a chosen date (staff), the same way close of business writes off
 * a loan at its threshold (store/cob.ts, domain/cob.ts planWriteOffs): receivables to credit
 * losses, unearned interest released, the line's principal released and the line frozen. The entry
 * carries the chosen date; its key is the one close of business would use, so the loan is written
 * off once whoever gets there first.
 */
import { planWriteOffs } from '../../domain/cob.ts';
import { closeWrittenOff, postPlanned, readWriteOffFacts } from '../cob.ts';
import type { TransactionSql } from '../db.ts';
import { lockLoan } from '../loans.ts';
import { Refusal } from '../refusal.ts';

export async function writeOffLoan(
  tx: TransactionSql,
  loanId: bigint,
  date: string,
): Promise<{ lossMinor: bigint; customerId: bigint }> {
  const loan = await lockLoan(tx, loanId);
  if (!loan) throw new Refusal('LOAN_NOT_FOUND', 'no such loan');
  if (loan.status !== 'active')
    throw new Refusal('LOAN_NOT_ACTIVE', `the loan is ${loan.status}`, { status: loan.status });
  const facts = await readWriteOffFacts(tx, [{ id: loan.id, customerId: loan.customerId }]);
  const posted = await postPlanned(tx, date, planWriteOffs(date, facts));
  await closeWrittenOff(tx, [loan.id], date);
  return { lossMinor: posted.reduce((s, p) => s + p.lossMinor, 0n), customerId: loan.customerId };
}
