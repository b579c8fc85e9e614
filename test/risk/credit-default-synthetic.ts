/**
 * A seeded synthetic data set of the shape of the public "default of credit card clients" file
 * (Taiwan, 23 features, target `default`), with structure planted so that tests can check the
 * trainer recovers it:
 *
 * - PAY_0, PAY_2..PAY_6: status codes -2..8 whose risk is not monotone in the code (-2, "no
 *   consumption", is riskier than -1 "paid in full" and 0 "revolving"; 1 is milder than 2+);
 * - AGE: U-shaped risk (young and old riskier than 40);
 * - a suppressor pair: BILL_AMT1 is risky at a given LIMIT_BAL (utilisation), yet looks safe alone
 *   because big bills come with big limits;
 * - stray text tokens ("nan", "NA", "?", "null") in a few numeric columns, missing-at-risk;
 * - a special code: PAY_AMT1 = -999 ("not reported"), much riskier than any real payment.
 *
 * Deterministic: the same (rows, seed) always gives the same text.
 */
import { mulberry32 } from '../../src/risk/model/cv.ts';

export const CREDIT_DEFAULT_HEADER = [
  'ID',
  'LIMIT_BAL',
  'SEX',
  'EDUCATION',
  'MARRIAGE',
  'AGE',
  'PAY_0',
  'PAY_2',
  'PAY_3',
  'PAY_4',
  'PAY_5',
  'PAY_6',
  'BILL_AMT1',
  'BILL_AMT2',
  'BILL_AMT3',
  'BILL_AMT4',
  'BILL_AMT5',
  'BILL_AMT6',
  'PAY_AMT1',
  'PAY_AMT2',
  'PAY_AMT3',
  'PAY_AMT4',
  'PAY_AMT5',
  'PAY_AMT6',
  'default',
] as const;

/** The special code planted in PAY_AMT1. */
export const PAY_AMT_NOT_REPORTED = -999;
const NA_TOKENS = ['nan', 'NA', '?', 'null'] as const;
/** Share of cells replaced by a stray token in the columns that get them. */
const STRAY_TOKEN_SHARE = 0.01;
const SPECIAL_CODE_SHARE = 0.02;
/** Log-odds of default per status code, -2..8: not monotone at the low end. */
export const STATUS_LOGIT: Record<number, number> = {
  [-2]: 0.35,
  [-1]: -0.45,
  0: -0.15,
  1: 0.4,
  2: 1.3,
  3: 1.6,
  4: 1.7,
  5: 1.7,
  6: 1.8,
  7: 1.8,
  8: 1.8,
};

type Random = () => number;

function normalOf(random: Random): () => number {
  return () => {
    const u = 1 - random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
}

/** A status code drawn around a person's propensity to fall behind (higher, later). */
function statusCode(propensity: number, random: Random, normal: () => number): number {
  const z = propensity + 0.5 * normal();
  if (z < -1.1) return -2;
  if (z < -0.3) return -1;
  if (z < 0.9) return 0;
  if (random() < 0.25) return 1;
  return Math.min(8, 2 + Math.floor(Math.max(0, z - 0.9) * 2.5));
}

function maybeToken(value: number, random: Random): string | number {
  if (random() >= STRAY_TOKEN_SHARE) return value;
  return NA_TOKENS[Math.floor(random() * NA_TOKENS.length)]!;
}

/** One row: the cells in header order and whether it defaulted. */
function creditRow(id: number, random: Random, normal: () => number): (string | number)[] {
  const limit = Math.max(10_000, Math.round((140_000 * Math.exp(0.8 * normal())) / 10_000) * 10_000);
  const sex = random() < 0.6 ? 2 : 1;
  const education = [1, 2, 2, 3, 3, 4, 5, 6, 0][Math.floor(random() * 9)]!;
  const marriage = random() < 0.01 ? 0 : random() < 0.5 ? 1 : random() < 0.95 ? 2 : 3;
  const age = Math.max(21, Math.min(79, Math.round(36 + 10 * normal())));
  const propensity = 0.6 * normal();
  const status = [0, 1, 2, 3, 4, 5].map(() => statusCode(propensity, random, normal));
  const utilisation = Math.min(1.5, Math.exp(-1 + 0.5 * normal()));
  const bill1 = Math.round(utilisation * limit);
  const bills = [bill1];
  for (let m = 1; m < 6; m++) bills.push(Math.round(bills[m - 1]! * Math.exp(0.15 * normal())));
  const payShare = Math.min(1, Math.exp(-2.5 + 0.8 * normal()));
  const pays = bills.map((b) => Math.round(b * payShare * Math.exp(0.3 * normal())));
  const special = random() < SPECIAL_CODE_SHARE;
  const ageTerm = 0.004 * (age - 40) ** 2;
  const logit =
    -1.75 +
    STATUS_LOGIT[status[0]!]! +
    0.5 * STATUS_LOGIT[status[1]!]! +
    ageTerm +
    1.0 * Math.log(bill1 / limit + 0.01) -
    0.6 * Math.log(limit / 140_000) -
    0.25 * Math.log(payShare) +
    (special ? 1.5 : 0) +
    (education === 3 ? 0.15 : 0);
  const bad = random() < 1 / (1 + Math.exp(-logit));
  return [
    id,
    limit,
    sex,
    education,
    marriage,
    maybeToken(age, random),
    ...status,
    bills[0]!,
    maybeToken(bills[1]!, random),
    ...bills.slice(2),
    special ? PAY_AMT_NOT_REPORTED : maybeToken(pays[0]!, random),
    ...pays.slice(1),
    bad ? 1 : 0,
  ];
}

/** Rows as CSV lines (no header), generated in chunks so a million rows never sit in memory twice. */
export function* creditDefaultLines(rows: number, seed: number): Generator<string> {
  const random = mulberry32(seed);
  const normal = normalOf(random);
  for (let i = 0; i < rows; i++) yield creditRow(i + 1, random, normal).join(',');
}

export function creditDefaultCsv(rows: number, seed: number): string {
  return [CREDIT_DEFAULT_HEADER.join(','), ...creditDefaultLines(rows, seed)].join('\n') + '\n';
}
