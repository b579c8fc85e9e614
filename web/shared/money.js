/**
 * Money as the API sends it: decimal strings ("12000.00"). Arithmetic is done on BigInt minor
 * units (fen), never on floats; a float appears only as a bar's width on screen.
 */

export const DECIMALS = 2;
/** An amount field's pattern: what the API accepts as an amount (12 digits, 2 decimals). */
export const AMOUNT_PATTERN = '^\\d{1,12}(\\.\\d{1,2})?$';
const SCALE = 10n ** BigInt(DECIMALS);
const AMOUNT = /^(\d{1,15})(?:\.(\d{1,2}))?$/;

/** "1234.5" → 123450n; undefined when it is not a non-negative amount with at most two decimals. */
export function toMinor(text) {
  const m = AMOUNT.exec(String(text).trim());
  if (!m) return undefined;
  return BigInt(m[1]) * SCALE + BigInt((m[2] ?? '').padEnd(DECIMALS, '0'));
}

/** 123450n → "1234.50", the API's form. */
export function fromMinor(minor) {
  const sign = minor < 0n ? '-' : '';
  const abs = minor < 0n ? -minor : minor;
  return `${sign}${abs / SCALE}.${String(abs % SCALE).padStart(DECIMALS, '0')}`;
}

/** "12000.00" → "¥12,000.00" for people; the digits are the API's, only grouped. */
export function display(text, currency = 'CNY') {
  const minor = typeof text === 'bigint' ? text : toMinor(text);
  if (minor === undefined) return String(text);
  const [whole, fraction] = fromMinor(minor).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${currency === 'CNY' ? '¥' : `${currency} `}${grouped}.${fraction}`;
}

/** Share of `part` in `whole` as a percentage with one decimal, for drawing (0 when whole is 0). */
export function percentOf(part, whole) {
  const p = typeof part === 'bigint' ? part : (toMinor(part) ?? 0n);
  const w = typeof whole === 'bigint' ? whole : (toMinor(whole) ?? 0n);
  if (w <= 0n) return 0;
  const tenths = (p * 1000n) / w;
  const clamped = tenths < 0n ? 0n : tenths > 1000n ? 1000n : tenths;
  return Number(clamped) / 10;
}

/** Sum of amounts given as strings, as a string. */
export function sum(...texts) {
  return fromMinor(texts.reduce((acc, t) => acc + (toMinor(t) ?? 0n), 0n));
}
