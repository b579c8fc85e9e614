/**
 * A seeded synthetic credit data set with what real files have and german_credit lacks: missing
 * numbers, missing categories, rare categories, text with commas and quotes, an id column to
 * exclude and a text target. The true risk is a known logistic function of the features.
 */
import { formatCsv } from '../../src/risk/model/csv.ts';
import { mulberry32 } from '../../src/risk/model/cv.ts';

export function syntheticCreditCsv(rows: number, seed: number): string {
  const random = mulberry32(seed);
  const normal = (): number => {
    // Box-Muller; 1 - u keeps the logarithm away from zero
    const u = 1 - random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const pick = <T>(items: readonly (readonly [T, number])[]): T => {
    let u = random();
    for (const [item, p] of items) {
      u -= p;
      if (u < 0) return item;
    }
    return items.at(-1)![0];
  };
  const housing = [
    ['own', 0.45],
    ['rent', 0.35],
    ['free, with family', 0.15],
    ['says "other"', 0.04],
    ['boat', 0.005],
    ['castle', 0.005],
  ] as const;
  const housingRisk: Record<string, number> = {
    own: -0.4,
    rent: 0.3,
    'free, with family': 0.1,
    'says "other"': 0.5,
    boat: 1,
    castle: -1,
  };
  const out: (string | number)[][] = [];
  for (let i = 0; i < rows; i++) {
    const income = Math.round(30_000 * Math.exp(0.5 * normal()));
    const incomeMissing = random() < 0.12;
    const age = Math.max(18, Math.min(75, Math.round(40 + 12 * normal())));
    const utilisation = Math.max(0, Math.min(1.2, 0.45 + 0.3 * normal()));
    const home = pick(housing);
    const regionMissing = random() < 0.05;
    const region = pick([
      ['north', 0.3],
      ['south', 0.3],
      ['east', 0.2],
      ['west', 0.2],
    ] as const);
    const logit =
      -1.3 +
      2 * (utilisation - 0.45) -
      0.8 * Math.log(income / 30_000) +
      (age < 25 ? 0.7 : 0) +
      (housingRisk[home] ?? 0) +
      (incomeMissing ? 0.6 : 0) +
      (region === 'south' ? 0.3 : 0);
    const bad = random() < 1 / (1 + Math.exp(-logit));
    out.push([
      `C${100000 + i}`,
      incomeMissing ? '' : income,
      age,
      utilisation.toFixed(3),
      home,
      regionMissing ? '' : region,
      (random() * 100).toFixed(1),
      bad ? 'yes' : 'no',
    ]);
  }
  return formatCsv(
    ['customer_id', 'income', 'age', 'utilisation', 'housing', 'region', 'noise', 'defaulted'],
    out,
  );
}
