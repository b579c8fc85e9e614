/**
 * Stratified k-fold assignment with a seeded PRNG, so that a run with the same seed puts every row
 * in the same fold on any machine and every fold keeps the overall bad rate.
 */

/** mulberry32: tiny, fast and fully determined by its 32-bit seed; not for anything secret. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * Fold number (0..k-1) per row. Each class is shuffled on its own and dealt round-robin, the
 * second class continuing where the first stopped, so fold sizes differ by at most one.
 */
export function stratifiedFolds(labels: ArrayLike<number>, k: number, seed: number): Int32Array {
  if (!Number.isInteger(k) || k < 2) throw new RangeError('k must be an integer >= 2');
  const random = mulberry32(seed);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const list = byClass.get(labels[i]!) ?? [];
    list.push(i);
    byClass.set(labels[i]!, list);
  }
  for (const [label, rows] of byClass) {
    if (rows.length < k)
      throw new RangeError(`class ${label} has ${rows.length} rows, fewer than ${k} folds`);
  }
  const folds = new Int32Array(labels.length);
  let next = 0;
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    for (const row of shuffle(byClass.get(label)!, random)) {
      folds[row] = next;
      next = (next + 1) % k;
    }
  }
  return folds;
}
