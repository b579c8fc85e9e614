/**
 * A statement as a printable HTML page, Chinese first with English beside it: amounts as
 * ¥1,293.94, dates as 2027年1月4日 (and 4 Jan 2027). Self-contained (inline CSS, no script, no
 * external resource), so it prints and saves as it is. Everything interpolated is escaped.
 */
import { escapeHtml } from '../domain/html.ts';
import type { StatementLineRow, StatementRow } from '../store/statements.ts';

const EN_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ¥1,293.94: yuan with thousands separators and two decimals (a negative with a minus sign). */
export function yuan(minor: bigint): string {
  const negative = minor < 0n;
  const abs = negative ? -minor : minor;
  const whole = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}¥${whole}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** 2027年1月4日 */
export function dateZh(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return `${y}年${m}月${d}日`;
}

/** 4 Jan 2027 */
export function dateEn(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return `${d} ${EN_MONTHS[m - 1]} ${y}`;
}

const KIND_LABEL: Record<StatementLineRow['kind'], string> = {
  installment: '本期应还 Due this cycle',
  past_due: '逾期未还 Past due',
  payment: '上期还款 Payment received',
  charge: '上期费用 Charge',
};

function lineRow(l: StatementLineRow): string {
  const n = l.installment_number === null ? '' : ` · 第${l.installment_number}期 #${l.installment_number}`;
  return `<tr><td>${dateZh(l.line_date)}<br><small>${dateEn(l.line_date)}</small></td>
<td>${KIND_LABEL[l.kind]}<br><small>借据 Loan ${escapeHtml(l.loan_id.toString())}${n}</small></td>
<td class="num">${yuan(l.amount_minor)}</td></tr>`;
}

const STYLE = `body{font-family:"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#111}
h1{font-size:20px;margin:0 0 4px}table{border-collapse:collapse;width:100%;margin:12px 0}
td,th{border-bottom:1px solid #ddd;padding:6px;text-align:left;vertical-align:top}.num{text-align:right;white-space:nowrap}
small{color:#555}.total{font-size:18px;font-weight:bold}@media print{body{margin:0}}`;

export function statementHtml(s: StatementRow, lines: readonly StatementLineRow[]): string {
  const summary: [string, bigint][] = [
    ['本金 Principal', s.principal_due_minor],
    ['利息 Interest', s.interest_due_minor],
    ['费用 Fees', s.fee_due_minor],
    ['罚息 Penalties', s.penalty_due_minor],
    ['其中逾期 Of which past due', s.past_due_minor],
    ['上期已还 Payments received last cycle', s.payments_received_minor],
    ['上期费用 Charges last cycle', s.charges_minor],
  ];
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>分期账单 Statement ${escapeHtml(s.cycle_start)}</title><style>${STYLE}</style></head><body>
<h1>分期账单 <small>Statement</small></h1>
<p>账单周期 Cycle: ${dateZh(s.cycle_start)} – ${dateZh(s.cycle_end)}<br><small>${dateEn(s.cycle_start)} – ${dateEn(s.cycle_end)}</small></p>
<p class="total">应还总额 Total due: ${yuan(s.total_due_minor)}</p>
<p>最后还款日 Pay by: ${dateZh(s.due_date)} <small>(${dateEn(s.due_date)})</small></p>
<table><tbody>${summary.map(([label, v]) => `<tr><td>${label}</td><td class="num">${yuan(v)}</td></tr>`).join('')}</tbody></table>
<h2>明细 <small>Details</small></h2>
<table><thead><tr><th>日期 Date</th><th>项目 Item</th><th class="num">金额 Amount</th></tr></thead>
<tbody>${lines.map(lineRow).join('\n')}</tbody></table>
<p><small>账单编号 Statement ${escapeHtml(s.id.toString())}</small></p>
</body></html>
`;
}
