/**
 * The reconciliation file of a sales date: every settlement of the date and each of its lines, with
 * the payout's status and reference, as CSV (one header, amounts in yuan with two decimals), so
 * finance can match it against the bank's statement of payouts. Written to a temporary name and
 * renamed, so a reader never sees half a file; a rerun rewrites it with the latest statuses.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatAmount } from '../domain/money.ts';
import type { Sql } from '../store/db.ts';
import { settlementLines, settlementsOfDate } from '../store/settlement.ts';

/** Lines read per query while writing the file. */
export const RECONCILIATION_PAGE = 5_000;

export const RECONCILIATION_HEADER = [
  'settlement_id',
  'merchant_id',
  'sales_date',
  'value_date',
  'status',
  'payout_reference',
  'line_kind',
  'source_id',
  'order_id',
  'discount_bp',
  'gross',
  'discount',
  'net',
].join(',');

export const reconciliationFileName = (date: string) => `settlement-${date}.csv`;

const yuan = (minor: bigint) => formatAmount(minor, 2);

export async function writeReconciliation(sql: Sql, dir: string, date: string): Promise<string> {
  const settlements = await settlementsOfDate(sql, date);
  const byId = new Map(settlements.map((s) => [s.id, s]));
  const rows: string[] = [RECONCILIATION_HEADER];
  let after = 0n;
  for (;;) {
    const lines = await settlementLines(sql, [...byId.keys()], after, RECONCILIATION_PAGE);
    if (lines.length === 0 || byId.size === 0) break;
    for (const l of lines) {
      const s = byId.get(l.settlement_id)!;
      rows.push(
        [
          s.id,
          s.merchant_id,
          s.sales_date,
          s.value_date,
          s.status,
          s.payout_reference ?? '',
          l.kind,
          l.source_id,
          l.order_id ?? '',
          l.discount_bp,
          yuan(l.gross_minor),
          yuan(l.discount_minor),
          yuan(l.net_minor),
        ].join(','),
      );
    }
    after = lines[lines.length - 1]!.id;
    if (lines.length < RECONCILIATION_PAGE) break;
  }
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, reconciliationFileName(date));
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${rows.join('\n')}\n`, { mode: 0o640 });
  await rename(temporary, file);
  return file;
}
