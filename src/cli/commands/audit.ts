import type { Command } from 'commander';
import { withDatabase } from '../database.ts';

/**
 * `fenqi audit verify`: recomputes the staff audit log's hash chain (src/audit/chain.ts) and exits
 * 1 naming the first row that was changed, deleted or moved.
 */
export function register(program: Command): void {
  const audit = program.command('audit').description('the staff audit log');
  audit
    .command('verify')
    .description('recompute the hash chain of the staff audit log; exit 1 at the first bad row')
    .option('--json', 'print the result as one JSON object')
    .action(async (flags: { json?: boolean }) => {
      const { verifyStaffAudit } = await import('../../store/staff-audit.ts');
      const result = await withDatabase((db) => verifyStaffAudit(db.sql));
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`,
        );
      } else if (result.ok) {
        process.stdout.write(`audit verify: OK, ${result.rows} rows, chain head at row ${result.headSeq}\n`);
      } else {
        process.stdout.write(
          `audit verify: FAILED at row ${result.firstBadSeq} (${result.rows} rows good before it): ${result.problem}\n`,
        );
      }
      if (!result.ok) process.exitCode = 1;
    });
}
