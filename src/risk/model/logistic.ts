/**
 * Logistic regression fitted by Newton's method (iteratively reweighted least squares) with an L2
 * penalty on the slopes, never on the intercept, so the penalty shrinks effects and not the base
 * rate. Standard errors are the square roots of the diagonal of the inverse penalized Hessian at the
 * optimum (the observed information), which is what a scorecard reviewer reads next to each weight.
 */

/** Newton converges in well under ten steps on WoE inputs; more means something is wrong. */
export const MAX_IRLS_ITERATIONS = 50;
/** Step halvings tried when a full Newton step does not improve the penalized likelihood. */
const MAX_STEP_HALVINGS = 30;

export interface LogisticOptions {
  /** Penalty weight: the objective subtracts l2/2 * sum(beta_j^2) over slopes. */
  l2: number;
  /** Stop when no coefficient moves more than this. */
  tolerance: number;
  maxIterations: number;
}

export const DEFAULT_LOGISTIC: LogisticOptions = {
  l2: 1,
  tolerance: 1e-8,
  maxIterations: MAX_IRLS_ITERATIONS,
};

export interface LogisticFit {
  intercept: number;
  coefficients: number[];
  interceptStdError: number;
  stdErrors: number[];
  iterations: number;
  /** Passes over the rows (one per objective evaluated: the first point, each trial step, each halving). */
  passes: number;
  converged: boolean;
  /** Unpenalized log-likelihood at the solution. */
  logLikelihood: number;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Cholesky factor L (lower, row-major) of a symmetric positive definite matrix, or null. */
function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) return null;
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j]!;
      }
    }
  }
  return l;
}

function choleskySolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * z[k]!;
    z[i] = s / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}

/**
 * A fitting problem: outcomes, width, L2 penalty and the design, read a block of rows at a time,
 * row-major, each row starting with the intercept's 1. The design is either one flat buffer (a
 * block is a view of it) or, for binned features, each row's bin per feature and each feature's
 * value per bin, a block filled from them: a million rows of 24 WoE values are 190 MB as doubles
 * and 24 MB as bin indices, and a block stays in cache.
 */
interface Problem {
  n: number;
  y: ArrayLike<number>;
  p: number;
  l2: number;
  /** Rows start .. start+count-1 of the design, row-major (valid until the next call). */
  block: (start: number, count: number) => Float64Array;
}

/** Rows per block of a binned design: 1024 rows of 24 doubles are 192 KB. */
export const DESIGN_BLOCK_ROWS = 1024;

function flatDesign(x: Float64Array, p: number): Pick<Problem, 'block'> {
  return {
    block: (start, count) => x.subarray(start * p, (start + count) * p),
  };
}

/** A binned design: feature j of row i is valueOfBin[j][binOfRow[j][i]], filled a block at a time. */
function binnedDesign(
  binOfRow: readonly ArrayLike<number>[],
  valueOfBin: readonly Float64Array[],
): Pick<Problem, 'block'> {
  const p = binOfRow.length + 1;
  const scratch = new Float64Array(DESIGN_BLOCK_ROWS * p);
  return {
    block: (start, count) => {
      for (let i = 0; i < count; i++) scratch[i * p] = 1;
      binOfRow.forEach((bins, j) => {
        const values = valueOfBin[j]!;
        for (let i = 0; i < count; i++) scratch[i * p + j + 1] = values[bins[start + i]!]!;
      });
      return scratch;
    },
  };
}

/**
 * Adds one block's rows to the gradient, the (lower half of the) negative Hessian and the
 * log-likelihood.
 */
function accumulate(
  x: Float64Array,
  y: ArrayLike<number>,
  offset: number,
  count: number,
  p: number,
  b: Float64Array,
  out: { h: Float64Array; g: Float64Array; ll: number },
): void {
  const { h, g } = out;
  for (let i = 0; i < count; i++) {
    const at = i * p;
    let eta = 0;
    for (let j = 0; j < p; j++) eta += x[at + j]! * b[j]!;
    const softplus = eta > 0 ? eta + Math.log1p(Math.exp(-eta)) : Math.log1p(Math.exp(eta));
    out.ll += y[offset + i]! * eta - softplus;
    const mu = sigmoid(eta);
    const w = mu * (1 - mu);
    const r = y[offset + i]! - mu;
    for (let j = 0; j < p; j++) {
      const xj = x[at + j]!;
      g[j]! += xj * r;
      const wj = w * xj;
      for (let k = 0; k <= j; k++) h[j * p + k]! += wj * x[at + k]!;
    }
  }
}

/** The penalised log-likelihood, its gradient and its negative Hessian at b: one pass over the rows. */
function gradientAndHessian(
  { n, y, p, l2, block }: Problem,
  b: Float64Array,
): { h: Float64Array; g: Float64Array; value: number } {
  const out = { h: new Float64Array(p * p), g: new Float64Array(p), ll: 0 };
  const { h, g } = out;
  for (let start = 0; start < n; start += DESIGN_BLOCK_ROWS) {
    const count = Math.min(DESIGN_BLOCK_ROWS, n - start);
    accumulate(block(start, count), y, start, count, p, b, out);
  }
  for (let j = 0; j < p; j++) for (let k = 0; k < j; k++) h[k * p + j] = h[j * p + k]!;
  let penalty = 0;
  for (let j = 1; j < p; j++) {
    h[j * p + j]! += l2;
    g[j]! -= l2 * b[j]!;
    penalty += b[j]! * b[j]!;
  }
  return { h, g, value: out.ll - (l2 / 2) * penalty };
}

/** Standard errors: square roots of the diagonal of the inverse Hessian, from its Cholesky factor. */
function standardErrors(l: Float64Array, p: number): Float64Array {
  const se = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const unit = new Float64Array(p);
    unit[j] = 1;
    se[j] = Math.sqrt(choleskySolve(l, p, unit)[j]!);
  }
  return se;
}

/**
 * Fits P(y = 1 | x) = sigmoid(b0 + x . b). `x` holds one row per observation; `y` is 0 or 1.
 */
export function fitLogistic(
  x: readonly ArrayLike<number>[],
  y: ArrayLike<number>,
  options: Partial<LogisticOptions> = {},
): LogisticFit {
  const n = x.length;
  if (n === 0 || y.length !== n) throw new RangeError('x and y must be non-empty and of equal length');
  const p = x[0]!.length + 1;
  const flat = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    flat[i * p] = 1;
    for (let j = 1; j < p; j++) flat[i * p + j] = x[i]![j - 1]!;
  }
  return fitLogisticFlat(flat, p, y, options);
}

/** fitLogistic on a flat row-major design whose rows already start with the intercept's 1. */
export function fitLogisticFlat(
  x: Float64Array,
  p: number,
  y: ArrayLike<number>,
  options: Partial<LogisticOptions> = {},
): LogisticFit {
  const n = y.length;
  if (n === 0 || x.length !== n * p) throw new RangeError('x must hold n rows of p values');
  return fitProblem(n, p, y, flatDesign(x, p), options);
}

/**
 * fitLogistic on binned features without materialising the design: feature j of row i is
 * valueOfBin[j][binOfRow[j][i]] (a WoE table and each row's bin). Same arithmetic, same result.
 */
export function fitLogisticBinned(
  binOfRow: readonly ArrayLike<number>[],
  valueOfBin: readonly Float64Array[],
  y: ArrayLike<number>,
  options: Partial<LogisticOptions> = {},
): LogisticFit {
  const n = y.length;
  if (n === 0 || binOfRow.length !== valueOfBin.length || binOfRow.some((b) => b.length !== n)) {
    throw new RangeError('every feature needs one bin per row and a value per bin');
  }
  return fitProblem(n, binOfRow.length + 1, y, binnedDesign(binOfRow, valueOfBin), options);
}

type Evaluated = ReturnType<typeof gradientAndHessian>;

/**
 * The Newton step from `beta`, halved while it would lower the penalised likelihood. A step under
 * the tolerance has converged and is not halved: near the optimum the objective's change is the
 * rounding of a sum over the rows, and halving for it cost up to 30 passes per fit for nothing (at
 * 300,000 rows, a third of the regression's passes with 8 bins).
 */
function ascend(
  beta: Float64Array,
  state: Evaluated,
  step: Float64Array,
  evaluate: (b: Float64Array) => Evaluated,
  tolerance: number,
): { next: Float64Array; trial: Evaluated } {
  let longest = 0;
  for (let j = 0; j < step.length; j++) longest = Math.max(longest, Math.abs(step[j]!));
  let scale = 1;
  let next = beta.map((b, j) => b + step[j]!);
  let trial = evaluate(next);
  for (
    let halving = 0;
    trial.value < state.value - 1e-12 && scale * longest >= tolerance && halving < MAX_STEP_HALVINGS;
    halving++
  ) {
    scale /= 2;
    next = beta.map((b, j) => b + scale * step[j]!);
    trial = evaluate(next);
  }
  return { next, trial };
}

function fitProblem(
  n: number,
  p: number,
  y: ArrayLike<number>,
  design: Pick<Problem, 'block'>,
  options: Partial<LogisticOptions>,
): LogisticFit {
  const opts = { ...DEFAULT_LOGISTIC, ...options };
  const beta = new Float64Array(p);
  // Start the intercept at the base rate so the first step is already in the right region.
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i]!;
  const base = Math.min(Math.max(positives / n, 1e-6), 1 - 1e-6);
  beta[0] = Math.log(base / (1 - base));

  const problem: Problem = { n, y, p, l2: opts.l2, ...design };
  // One pass over the rows gives the objective, gradient and Hessian at a point, so a trial step's
  // objective (is it an ascent?) comes with the next step's Hessian, and the converged point's
  // Hessian gives the standard errors: one pass per Newton step.
  let passes = 0;
  const evaluate = (b: Float64Array) => {
    passes++;
    return gradientAndHessian(problem, b);
  };

  let state = evaluate(beta);
  let iterations = 0;
  let converged = false;
  while (iterations < opts.maxIterations) {
    iterations++;
    const l = cholesky(state.h, p);
    if (!l) throw new Error('logistic regression: Hessian is singular (use an L2 penalty > 0)');
    const { next, trial } = ascend(beta, state, choleskySolve(l, p, state.g), evaluate, opts.tolerance);
    let moved = 0;
    for (let j = 0; j < p; j++) moved = Math.max(moved, Math.abs(next[j]! - beta[j]!));
    beta.set(next);
    state = trial;
    if (moved < opts.tolerance) {
      converged = true;
      break;
    }
  }

  const l = cholesky(state.h, p);
  if (!l) throw new Error('logistic regression: Hessian is singular at the solution');
  const se = standardErrors(l, p);
  let penalty = 0;
  for (let j = 1; j < p; j++) penalty += beta[j]! * beta[j]!;
  return {
    intercept: beta[0]!,
    coefficients: Array.from(beta.subarray(1)),
    interceptStdError: se[0]!,
    stdErrors: Array.from(se.subarray(1)),
    iterations,
    passes,
    converged,
    logLikelihood: state.value + (opts.l2 / 2) * penalty,
  };
}

/**
 * A design of indicators: every row has exactly `k` columns equal to 1 (their indexes in `active`,
 * row-major, n x k, 0..columns-1) and all others 0. Per-bin coding is this shape (one bin per
 * feature per row); rows are materialised a block at a time, as a binned design's are.
 */
export interface IndicatorDesign {
  active: Int32Array;
  k: number;
  columns: number;
}

function indicatorDesign({ active, k, columns }: IndicatorDesign): Pick<Problem, 'block'> {
  const p = columns + 1;
  const scratch = new Float64Array(DESIGN_BLOCK_ROWS * p);
  return {
    block: (start, count) => {
      scratch.fill(0, 0, count * p);
      for (let i = 0; i < count; i++) {
        scratch[i * p] = 1;
        for (let j = 0; j < k; j++) scratch[i * p + 1 + active[(start + i) * k + j]!] = 1;
      }
      return scratch;
    },
  };
}

/**
 * Logistic regression on an indicator design (per-bin coding): the same Newton iterations, penalty
 * and standard errors as fitLogisticFlat, one coefficient per column. The L2 penalty makes the
 * weights identifiable without a reference column per feature.
 */
export function fitLogisticIndicators(
  design: IndicatorDesign,
  y: ArrayLike<number>,
  options: Partial<LogisticOptions> = {},
): LogisticFit {
  const n = y.length;
  const l2 = options.l2 ?? DEFAULT_LOGISTIC.l2;
  if (n === 0 || design.active.length !== n * design.k) throw new RangeError('active must hold n rows of k');
  if (!(l2 > 0)) throw new RangeError('an indicator design needs an L2 penalty > 0');
  for (const c of design.active) {
    if (!(c >= 0 && c < design.columns)) throw new RangeError(`indicator column ${c} out of range`);
  }
  return fitProblem(n, design.columns + 1, y, indicatorDesign(design), options);
}
