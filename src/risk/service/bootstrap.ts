/**
 * The bootstrap champion: a model to decide with before the platform has repayment history of its
 * own. It is trained on German credit (data/german_credit.csv, in the repository) with its columns
 * translated into the platform's feature vocabulary (risk/model/features.ts). It is only a starting point: once loans mature,
 * `fenqi risk train --from-platform` trains a challenger on the platform's own decisions and
 * outcomes, and a risk analyst promotes it when it beats the bootstrap.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GERMAN_CREDIT_CSV, GERMAN_CREDIT_SHA256 } from '../../paths.ts';
import type { Column, Dataset } from '../model/csv.ts';
import { isPresent, parseCsv, toDataset } from '../model/csv.ts';
import type { Purpose, RepaymentHistory } from '../model/features.ts';
import { type ScorecardModel, train } from '../model/train.ts';

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
    values: Array.from(from.values, (v: string | number | null) =>
      isPresent(v) ? (table[String(v)] ?? 'other') : null,
    ),
  });
  const numeric = (name: string, from: Column): Column => ({
    name,
    kind: 'numeric',
    values: Array.from(from.values, (v: string | number | null) =>
      typeof v === 'number' && isPresent(v) ? v : null,
    ),
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
        values: Array.from(plans.values, (v: string | number | null) =>
          isPresent(v) ? (v === 'none' ? 'none' : 'other_lenders') : null,
        ),
      },
      numeric('open_credits', col('number_credits')),
      { ...target, name: 'bad' } as Column,
    ],
  };
}

export interface BootstrapModel {
  model: ScorecardModel;
  note: string;
}

/**
 * Trains the bootstrap champion on German credit, which ships in the repository (data/). There is
 * no fallback: a deployment that silently trained on something else would decide differently from
 * the one that was tested, so a missing or changed file stops the start with the reason.
 */
export function trainBootstrap(csvPath = GERMAN_CREDIT_CSV): BootstrapModel {
  const data = germanToPlatform(toDataset(parseCsv(readGermanCredit(csvPath))));
  // credit_risk 0 is bad in German credit. German credit never lacks these features, but the
  // platform does whenever a source is down, and the degradation rules (refer, smaller line) are
  // what answer that: scoring a missing source as each feature's worst bin would turn every
  // degraded decision into a decline. So the bootstrap keeps the neutral missing bin (WoE 0).
  const { model } = train(data, {
    target: 'bad',
    badValue: '0',
    folds: 5,
    seed: 42,
    missingPolicy: 'neutral',
    // One card, not a bag of 100 (bagging.ts): the bootstrap is trained when a platform starts
    // without a champion (every test database too), a stand-in on another population, and a bag
    // would make that start 5x slower for a few thousandths of AUC.
    bagCards: 0,
  });
  return { model, note: 'bootstrap: German credit mapped onto platform features' };
}

function readGermanCredit(csvPath: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(csvPath);
  } catch (err) {
    throw new Error(`bootstrap model: cannot read ${csvPath} (${(err as NodeJS.ErrnoException).code})`);
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (csvPath === GERMAN_CREDIT_CSV && digest !== GERMAN_CREDIT_SHA256) {
    throw new Error(`bootstrap model: ${csvPath} has sha256 ${digest}, expected ${GERMAN_CREDIT_SHA256}`);
  }
  return bytes.toString('utf8');
}
