import type { Command } from 'commander';
import { withDatabase } from '../database.ts';

/**
 * `fenqi ledger check`: proves the books balance (overall and per entry), every loan's receivable
 * sub-ledger equals what its installments say is owed, and every credit line's used amount equals
 * its open loans' principal. Exit 1 on any discrepancy.
 */
export function register(program: Command): void {
  const ledger = program.command('ledger').description('the double-entry ledger');
  ledger
    .command('check')
    .description(
      'prove debits = credits, every entry balances, every loan sub-ledger equals its installments',
    )
    .option('--json', 'print the report as one JSON object')
    .action(async (flags: { json?: boolean }) => {
      const { checkLedger } = await import('../../store/ledger.ts');
      const { CNY, formatAmount } = await import('../../domain/index.ts');
      const report = await withDatabase((db) => checkLedger(db.sql));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
      } else {
        const amount = (minor: string) => formatAmount(BigInt(minor), CNY.decimals);
        const out = (line: string) => process.stdout.write(`${line}\n`);
        out(`entries ${report.entries}, lines ${report.lines}`);
        out(`debits  ${amount(report.totalDebitsMinor)}`);
        out(`credits ${amount(report.totalCreditsMinor)}`);
        out(`unbalanced entries: ${report.unbalancedEntryCount}`);
        for (const e of report.unbalancedEntries) {
          out(
            `  entry ${e.entryId}: debits ${amount(e.debitsMinor)} credits ${amount(e.creditsMinor)} in ${e.lines} lines`,
          );
        }
        out(`receivable lines without a loan: ${report.receivableLinesWithoutLoan}`);
        out(`loans checked ${report.loansChecked}, sub-ledger mismatches: ${report.loanMismatchCount}`);
        for (const m of report.loanMismatches) {
          out(
            `  loan ${m.loanId} ${m.component}: ledger ${amount(m.ledgerMinor)} installments ${amount(m.installmentsMinor)}`,
          );
        }
        out(
          `credit lines checked ${report.creditLinesChecked}, mismatches: ${report.creditLineMismatchCount}`,
        );
        for (const m of report.creditLineMismatches) {
          out(
            `  customer ${m.customerId}: used ${amount(m.usedMinor)} open principal ${amount(m.outstandingPrincipalMinor)}`,
          );
        }
        out('account balances:');
        for (const b of report.accountBalances)
          out(`  ${b.account} ${b.name.padEnd(42)} ${amount(b.balanceMinor)}`);
        out(report.ok ? 'ledger check: OK' : 'ledger check: FAILED');
      }
      if (!report.ok) process.exitCode = 1;
    });
}
