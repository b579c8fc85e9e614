/**
 * The one masking rule table for personal fields (issue 14 item 8), by who reads them:
 *   - staff: staff views of a customer (GET /v1/customers/:id by risk or ops, the console);
 *   - export: files and reports leaving the platform;
 *   - log: log lines (src/logger.ts redacts these fields through this table).
 * A customer reading their own record sees it whole, except the bank card (last four only).
 * Pure: no I/O.
 */
export const PERSONAL_FIELDS = ['phone', 'national_id', 'bank_card', 'legal_name'] as const;
export type PersonalField = (typeof PERSONAL_FIELDS)[number];
export type Audience = 'staff' | 'export' | 'log';

/** Digits of a bank card's issuer identification number (BIN) that may be shown. */
export const BANK_CARD_BIN_DIGITS = 6;
export const VISIBLE_TAIL_DIGITS = 4;
const STAR = '*';

/** Keeps `head` leading and `tail` trailing characters; the rest become stars. */
function keep(value: string, head: number, tail: number): string {
  const chars = [...value];
  if (chars.length <= head + tail) return STAR.repeat(chars.length);
  // slice(length - tail), not slice(-tail): with tail 0, slice(-0) is the whole value
  return (
    chars.slice(0, head).join('') +
    STAR.repeat(chars.length - head - tail) +
    chars.slice(chars.length - tail).join('')
  );
}

/** 13912345678 -> 139****5678 */
const phone = (v: string) => keep(v, 3, VISIBLE_TAIL_DIGITS);
/** 11010119900101123X -> 110***********123X (no birth date, no full region) */
const nationalId = (v: string) => keep(v, 3, VISIBLE_TAIL_DIGITS);
/** 6222020200112233445 -> 622202*********3445: BIN + last four */
const bankCard = (v: string) => keep(v, BANK_CARD_BIN_DIGITS, VISIBLE_TAIL_DIGITS);
/** 张三丰 -> 张**; Tester Ng -> T******** */
const legalName = (v: string) => keep(v, 1, 0);
const hidden = () => '[redacted]';

export const MASKING_RULES: Readonly<
  Record<PersonalField, Readonly<Record<Audience, (value: string) => string>>>
> = {
  phone: { staff: phone, export: phone, log: hidden },
  national_id: { staff: nationalId, export: nationalId, log: hidden },
  bank_card: { staff: bankCard, export: bankCard, log: hidden },
  legal_name: { staff: legalName, export: legalName, log: hidden },
};

export function mask(field: PersonalField, value: string, audience: Audience): string {
  return MASKING_RULES[field][audience](value);
}

/** The customer's own view of their card: the last four digits only. */
export function ownBankCard(card: string): string {
  return `**** **** **** ${card.slice(-VISIBLE_TAIL_DIGITS)}`;
}
