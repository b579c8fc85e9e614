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
 * A fitting problem: the design matrix flat, row-major, each row with a leading 1 for the
 * intercept (one buffer, not an array per row: a million rows of 24 would otherwise cost ~300 MB
 * of object headers), outcomes, width and L2 penalty.
 */
interface Problem {
  x: Float64Array;
  n: number;
  y: ArrayLike<number>;
  p: number;
  l2: number;
}

/** The log-likelihood less the L2 penalty (the intercept is not penalised). */
function penalisedLogLikelihood({ x, n, y, p, l2 }: Problem, b: Float64Array): number {
  let ll = 0;
  for (let i = 0; i < n; i++) {
    const at = i * p;
    let eta = 0;
    for (let j = 0; j < p; j++) eta += x[at + j]! * b[j]!;
    // log(1 + e^eta) computed without overflow
    const softplus = eta > 0 ? eta + Math.log1p(Math.exp(-eta)) : Math.log1p(Math.exp(eta));
    ll += y[i]! * eta - softplus;
  }
  let penalty = 0;
  for (let j = 1; j < p; j++) penalty += b[j]! * b[j]!;
  return ll - (l2 / 2) * penalty;
}

/** The gradient and the negative Hessian of the penalised log-likelihood at b. */
function gradientAndHessian(
  { x, n, y, p, l2 }: Problem,
  b: Float64Array,
): { h: Float64Array; g: Float64Array } {
  const h = new Float64Array(p * p);
  const g = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    const at = i * p;
    let eta = 0;
    for (let j = 0; j < p; j++) eta += x[at + j]! * b[j]!;
    const mu = sigmoid(eta);
    const w = mu * (1 - mu);
    const r = y[i]! - mu;
    for (let j = 0; j < p; j++) {
      const xj = x[at + j]!;
      g[j]! += xj * r;
      const wj = w * xj;
      for (let k = 0; k <= j; k++) h[j * p + k]! += wj * x[at + k]!;
    }
  }
  for (let j = 0; j < p; j++) for (let k = 0; k < j; k++) h[k * p + j] = h[j * p + k]!;
  for (let j = 1; j < p; j++) {
    h[j * p + j]! += l2;
    g[j]! -= l2 * b[j]!;
  }
  return { h, g };
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
  const opts = { ...DEFAULT_LOGISTIC, ...options };
  const n = y.length;
  if (n === 0 || x.length !== n * p) throw new RangeError('x must hold n rows of p values');
  const problem: Problem = { x, n, y, p, l2: opts.l2 };
  return newton(
    y,
    p,
    (b) => penalisedLogLikelihood(problem, b),
    (b) => gradientAndHessian(problem, b),
    opts,
  );
}

/**
 * A design of indicators: every row has exactly `k` columns equal to 1 (their indexes in `active`,
 * row-major, n x k, 0..columns-1) and all others 0. Per-bin coding is this shape (one bin per
 * feature per row), and stored this way a row costs k entries instead of `columns` and its
 * Hessian update k² instead of columns².
 */
export interface IndicatorDesign {
  active: Int32Array;
  k: number;
  columns: number;
}

/** The linear predictor of every row under b (b[0] the intercept, b[1 + c] column c's weight). */
function indicatorEta({ active, k }: IndicatorDesign, n: number, b: Float64Array): Float64Array {
  const eta = new Float64Array(n).fill(b[0]!);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) eta[i]! += b[1 + active[i * k + j]!]!;
  return eta;
}

function indicatorObjective(d: IndicatorDesign, y: ArrayLike<number>, l2: number, b: Float64Array): number {
  const eta = indicatorEta(d, y.length, b);
  let ll = 0;
  for (let i = 0; i < y.length; i++) {
    const e = eta[i]!;
    ll += y[i]! * e - (e > 0 ? e + Math.log1p(Math.exp(-e)) : Math.log1p(Math.exp(e)));
  }
  let penalty = 0;
  for (let j = 1; j < b.length; j++) penalty += b[j]! * b[j]!;
  return ll - (l2 / 2) * penalty;
}

function indicatorHessian(
  d: IndicatorDesign,
  y: ArrayLike<number>,
  l2: number,
  b: Float64Array,
): { h: Float64Array; g: Float64Array } {
  const { active, k } = d;
  const p = d.columns + 1;
  const h = new Float64Array(p * p);
  const g = new Float64Array(p);
  const eta = indicatorEta(d, y.length, b);
  for (let i = 0; i < y.length; i++) {
    const mu = sigmoid(eta[i]!);
    const w = mu * (1 - mu);
    const r = y[i]! - mu;
    g[0]! += r;
    h[0]! += w;
    for (let j = 0; j < k; j++) {
      const a = 1 + active[i * k + j]!;
      g[a]! += r;
      h[a * p]! += w;
      for (let m = 0; m <= j; m++) {
        const c = 1 + active[i * k + m]!;
        // a row's active columns are distinct (one per feature); keep the lower triangle
        if (c <= a) h[a * p + c]! += w;
        else h[c * p + a]! += w;
      }
    }
  }
  for (let j = 0; j < p; j++) for (let m = 0; m < j; m++) h[m * p + j] = h[j * p + m]!;
  for (let j = 1; j < p; j++) {
    h[j * p + j]! += l2;
    g[j]! -= l2 * b[j]!;
  }
  return { h, g };
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
  const opts = { ...DEFAULT_LOGISTIC, ...options };
  const n = y.length;
  if (n === 0 || design.active.length !== n * design.k) throw new RangeError('active must hold n rows of k');
  if (!(opts.l2 > 0)) throw new RangeError('an indicator design needs an L2 penalty > 0');
  for (const c of design.active) {
    if (!(c >= 0 && c < design.columns)) throw new RangeError(`indicator column ${c} out of range`);
  }
  return newton(
    y,
    design.columns + 1,
    (b) => indicatorObjective(design, y, opts.l2, b),
    (b) => indicatorHessian(design, y, opts.l2, b),
    opts,
  );
}

/** Newton's method with step halving on a penalised log-likelihood, then standard errors. */
function newton(
  y: ArrayLike<number>,
  p: number,
  objective: (b: Float64Array) => number,
  hessianAt: (b: Float64Array) => { h: Float64Array; g: Float64Array },
  opts: LogisticOptions,
): LogisticFit {
  const n = y.length;
  const beta = new Float64Array(p);
  // Start the intercept at the base rate so the first step is already in the right region.
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i]!;
  const base = Math.min(Math.max(positives / n, 1e-6), 1 - 1e-6);
  beta[0] = Math.log(base / (1 - base));

  let current = objective(beta);
  let iterations = 0;
  let converged = false;
  while (iterations < opts.maxIterations) {
    iterations++;
    const { h, g } = hessianAt(beta);
    const l = cholesky(h, p);
    if (!l) throw new Error('logistic regression: Hessian is singular (use an L2 penalty > 0)');
    const step = choleskySolve(l, p, g);
    let scale = 1;
    let next = beta.map((b, j) => b + step[j]!);
    let value = objective(next);
    for (let halving = 0; value < current - 1e-12 && halving < MAX_STEP_HALVINGS; halving++) {
      scale /= 2;
      next = beta.map((b, j) => b + scale * step[j]!);
      value = objective(next);
    }
    let moved = 0;
    for (let j = 0; j < p; j++) moved = Math.max(moved, Math.abs(next[j]! - beta[j]!));
    beta.set(next);
    current = value;
    if (moved < opts.tolerance) {
      converged = true;
      break;
    }
  }

  const { h } = hessianAt(beta);
  const l = cholesky(h, p);
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
    converged,
    logLikelihood: current + (opts.l2 / 2) * penalty,
  };
}
