/**
 * The bootstrap champion: a model to decide with before the platform has repayment history of its
 * own. It is trained on German credit (if the file is there) with its columns translated into the
 * platform's feature vocabulary (features.ts), or else on a seeded synthetic data set that already
 * speaks that vocabulary. Either way it is only a starting point: once loans mature,
 * `fenqi risk train --from-platform` trains a challenger on the platform's own decisions and
 * outcomes, and a risk analyst promotes it when it beats the bootstrap.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Column, Dataset } from '../model/csv.ts';
import { toDataset } from '../model/csv.ts';
import { mulberry32 } from '../model/cv.ts';
import type { Purpose, RepaymentHistory } from '../model/features.ts';
import { type ScorecardModel, train } from '../model/train.ts';
import { readCsvFile } from './csv-file.ts';

export const GERMAN_CREDIT_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../shared/data/credit/german_credit.csv',
);
export const SYNTHETIC_BOOTSTRAP_ROWS = 4000;
export const SYNTHETIC_BOOTSTRAP_SEED = 7;

/** German purpose -> platform purpose. */
const GERMAN_PURPOSE: Record<string, Purpose> = {
  'car (new)': 'car',
  'car (used)': 'car',
  'radio/television': 'goods',
  'domestic appliances': 'goods',
  'furniture/equipment': 'goods',
  education: 'education',
  retraining: 'education',
  repairs: 'home',
  business: 'business',
  others: 'other',
};

/** German credit_history -> platform repayment_history (derived from platform and bureau data). */
const GERMAN_HISTORY: Record<string, RepaymentHistory> = {
  'no credits taken/all credits paid back duly': 'none',
  'all credits at this bank paid back duly': 'paid_duly',
  'existing credits paid back duly till now': 'paid_duly',
  'delay in paying off in the past': 'delayed',
  'critical account/other credits existing': 'other_credits',
};

/**
 * German columns the platform can also know, under platform names. Amounts are in DM in the file;
 * they are read as yuan, which only shifts the bins: the bootstrap ranks, it does not calibrate.
 * Columns with no platform counterpart (checking account, savings, employment, housing...) are
 * left out, because a feature that is always missing at decision time scores nothing.
 */
export function germanToPlatform(data: Dataset): Dataset {
  const col = (name: string): Column => {
    const c = data.columns.find((x) => x.name === name);
    if (!c) throw new Error(`german credit file lacks column ${name}`);
    return c;
  };
  const mapped = (name: string, from: Column, table: Record<string, string>): Column => ({
    name,
    kind: 'categorical',
    values: from.values.map((v) => (v === null ? null : (table[String(v)] ?? 'other'))),
  });
  const numeric = (name: string, from: Column): Column => ({
    name,
    kind: 'numeric',
    values: from.values.map((v) => (typeof v === 'number' ? v : null)),
  });
  const plans = col('other_installment_plans');
  const target = col('credit_risk');
  return {
    rowCount: data.rowCount,
    columns: [
      numeric('age_years', col('age')),
      numeric('tenor_months', col('duration')),
      numeric('requested_amount', col('amount')),
      mapped('purpose', col('purpose'), GERMAN_PURPOSE),
      mapped('repayment_history', col('credit_history'), GERMAN_HISTORY),
      {
        name: 'other_credit',
        kind: 'categorical',
        values: plans.values.map((v) => (v === null ? null : v === 'none' ? 'none' : 'other_lenders')),
      },
      numeric('open_credits', col('number_credits')),
      { ...target, name: 'bad' } as Column,
    ],
  };
}

/** A platform-shaped data set with a known logistic risk, for when German credit is absent. */
export function syntheticPlatformDataset(rows: number, seed: number): Dataset {
  const random = mulberry32(seed);
  const normal = (): number => {
    const u = 1 - random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const cols: Record<string, (number | string | null)[]> = {
    age_years: [],
    monthly_income: [],
    purpose: [],
    external_score: [],
    bureau_inquiries_6m: [],
    bureau_utilisation: [],
    repayment_history: [],
    bad: [],
  };
  const purposes: Purpose[] = ['goods', 'cash', 'car', 'education', 'home', 'travel', 'other'];
  for (let i = 0; i < rows; i++) {
    const age = Math.max(18, Math.min(70, Math.round(36 + 11 * normal())));
    const income = Math.round(8000 * Math.exp(0.5 * normal()));
    const score = Math.round(Math.max(300, Math.min(850, 650 + 80 * normal())));
    const inquiries = Math.floor(random() * random() * 9);
    const utilisation = Math.max(0, Math.min(1.2, 0.4 + 0.25 * normal()));
    const purpose = purposes[Math.floor(random() * purposes.length)]!;
    const history: RepaymentHistory = (
      ['none', 'paid_duly', 'paid_duly', 'delayed', 'other_credits'] as const
    )[Math.floor(random() * 5)]!;
    const logit =
      -1.6 -
      0.012 * (score - 650) -
      0.6 * Math.log(income / 8000) +
      0.15 * inquiries +
      1.2 * (utilisation - 0.4) +
      (age < 23 ? 0.5 : 0) +
      (history === 'delayed' ? 0.8 : history === 'paid_duly' ? -0.4 : 0) +
      (purpose === 'cash' || purpose === 'travel' ? 0.3 : 0);
    cols.age_years!.push(age);
    cols.monthly_income!.push(income);
    cols.purpose!.push(purpose);
    cols.external_score!.push(score);
    cols.bureau_inquiries_6m!.push(inquiries);
    cols.bureau_utilisation!.push(Math.round(utilisation * 1000) / 1000);
    cols.repayment_history!.push(history);
    cols.bad!.push(random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0);
  }
  return {
    rowCount: rows,
    columns: Object.entries(cols).map(([name, values]) =>
      typeof values[0] === 'number'
        ? ({ name, kind: 'numeric', values } as Column)
        : ({ name, kind: 'categorical', values } as Column),
    ),
  };
}

export interface BootstrapModel {
  model: ScorecardModel;
  note: string;
}

/** Trains the bootstrap champion; German credit when available, else synthetic. */
export function trainBootstrap(germanPath = GERMAN_CREDIT_PATH): BootstrapModel {
  if (existsSync(germanPath)) {
    const data = germanToPlatform(toDataset(readCsvFile(germanPath)));
    // credit_risk 0 is bad in German credit
    const { model } = train(data, { target: 'bad', badValue: '0', folds: 5, seed: 42 });
    return { model, note: 'bootstrap: German credit mapped onto platform features' };
  }
  const data = syntheticPlatformDataset(SYNTHETIC_BOOTSTRAP_ROWS, SYNTHETIC_BOOTSTRAP_SEED);
  const { model } = train(data, { target: 'bad', badValue: '1', folds: 5, seed: 42 });
  return { model, note: 'bootstrap: synthetic platform-shaped data' };
}
