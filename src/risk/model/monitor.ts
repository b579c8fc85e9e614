/**
 * Learning from the platform: the training set is every loan whose performance window has
 * matured, described by the features of the decision that granted the credit (as the decision log
 * stored them, so nothing known only later leaks in) and labelled bad when any installment due in
 * the window reached the bad days-past-due. Monitoring compares the applicants of recent decisions
 * with a model's training population (PSI) and measures the model's AUC on matured loans.
 * Pure: the rows come from store/risk-platform.ts.
 */
import { assignBin } from './binning.ts';
import type { Column, Dataset } from './csv.ts';
import { type DecisionInputs, FEATURE_NAMES, featuresOf } from './features.ts';
import { auc, histogram, psi } from './metrics.ts';
import { rowFeatureValue, scoreRow } from './scorecard.ts';
import type { ScorecardModel } from './train.ts';

export const DEFAULT_BAD_DPD = 30;
export const DEFAULT_WINDOW_DAYS = 180;
export const DEFAULT_MONITOR_DAYS = 30;
/** PSI at or above which a distribution is "drifting" (watch) and "shifted" (act). */
export const WATCH_PSI = 0.1;
export const ACT_PSI = 0.25;

const CATEGORICAL = new Set(['purpose', 'repayment_history', 'other_credit']);

export interface MaturedLoan {
  loanId: bigint;
  bad: boolean;
  worstDpd: number;
  inputs: DecisionInputs;
}

/** The training data set: one row per matured loan, platform features plus `bad` (1/0). */
export function platformDataset(loans: readonly MaturedLoan[]): Dataset {
  const rows = loans.map((l) => featuresOf(l.inputs));
  const columns: Column[] = [];
  for (const name of FEATURE_NAMES) {
    const values = rows.map((r) => r[name] ?? null);
    // a feature no decision ever had cannot be binned; leave it out
    if (values.every((v) => v === null)) continue;
    columns.push(
      CATEGORICAL.has(name)
        ? { name, kind: 'categorical', values: values.map((v) => (v === null ? null : String(v))) }
        : { name, kind: 'numeric', values: values.map((v) => (typeof v === 'number' ? v : null)) },
    );
  }
  columns.push({ name: 'bad', kind: 'numeric', values: loans.map((l) => (l.bad ? 1 : 0)) });
  return { columns, rowCount: loans.length };
}

export type DriftFlag = 'stable' | 'watch' | 'act';

export function flagOf(value: number): DriftFlag {
  return value >= ACT_PSI ? 'act' : value >= WATCH_PSI ? 'watch' : 'stable';
}

export interface Drift {
  name: string;
  psi: number;
  flag: DriftFlag;
  labels: string[];
  training: number[];
  current: number[];
}

export interface MonitorReport {
  decisions: number;
  score: Drift | null;
  features: Drift[];
  matured: { loans: number; bads: number; auc: number | null };
  watch: string[];
  act: string[];
}

function drift(name: string, labels: string[], training: number[], current: number[]): Drift {
  const value = psi(training, current);
  return { name, psi: value, flag: flagOf(value), labels, training, current };
}

/**
 * PSI of the score and of every model feature between the model's training population and the
 * given decisions (rescored with this model, so any registered model can be monitored), and AUC
 * on matured loans. Pure.
 */
export function monitor(
  model: ScorecardModel,
  recent: readonly DecisionInputs[],
  matured: readonly MaturedLoan[],
): MonitorReport {
  const rows = recent.map(featuresOf);
  let score: Drift | null = null;
  const features: Drift[] = [];
  if (rows.length > 0) {
    const scores = rows.map((r) => scoreRow(model, r, 0).score);
    const dist = model.scoreDistribution;
    const labels = dist.counts.map((_, i) =>
      i === 0
        ? `< ${dist.cuts[0]}`
        : i === dist.cuts.length
          ? `>= ${dist.cuts[i - 1]}`
          : `${dist.cuts[i - 1]}..`,
    );
    score = drift('score', labels, dist.counts, histogram(scores, dist.cuts));
    for (const f of model.features) {
      const current = new Array<number>(f.bins.length).fill(0);
      for (const r of rows) current[assignBin(f, rowFeatureValue(f, r))]!++;
      features.push(
        drift(
          f.name,
          f.bins.map((b) => b.label),
          f.bins.map((b) => b.count),
          current,
        ),
      );
    }
  }
  const bads = matured.filter((m) => m.bad).length;
  let maturedAuc: number | null = null;
  if (bads > 0 && bads < matured.length) {
    const scores = matured.map((m) => scoreRow(model, featuresOf(m.inputs), 0).score);
    maturedAuc = auc(
      scores,
      matured.map((m) => !m.bad),
    );
  }
  const all = [...(score ? [score] : []), ...features];
  return {
    decisions: rows.length,
    score,
    features,
    matured: { loans: matured.length, bads, auc: maturedAuc },
    watch: all.filter((d) => d.flag === 'watch').map((d) => d.name),
    act: all.filter((d) => d.flag === 'act').map((d) => d.name),
  };
}
