/**
 * Ridge regression on standardised features with an unpenalised intercept: minimises
 * Σ (y − b − x·w)² + λ·n·|w|² where x is standardised over the rows. Small dense problems (tens of features);
 * solved by Cholesky on the normal equations. Returns coefficients in the original feature units.
 */
export interface RidgeFit {
  intercept: number;
  weights: number[];
}

export function fitRidge(xs: ReadonlyArray<ArrayLike<number>>, ys: ArrayLike<number>, lambda: number): RidgeFit {
  if (!xs.length) throw new Error('ridge: no rows');
  const acc = new RidgeAccumulator(xs[0]!.length);
  xs.forEach((x, i) => acc.add(x, ys[i]!));
  return acc.solve(lambda);
}

/** Solves A w = b for symmetric positive-definite A (lower triangle filled, row-major p×p). */
function choleskySolve(a: Float64Array, b: Float64Array, p: number): Float64Array {
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * p + j]!;
      for (let k = 0; k < j; k++) s -= l[i * p + k]! * l[j * p + k]!;
      if (i === j) {
        if (!(s > 0)) throw new Error('ridge: normal equations not positive definite');
        l[i * p + i] = Math.sqrt(s);
      } else l[i * p + j] = s / l[j * p + j]!;
    }
  }
  const y = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * p + k]! * y[k]!;
    y[i] = s / l[i * p + i]!;
  }
  const x = new Float64Array(p);
  for (let i = p - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < p; k++) s -= l[k * p + i]! * x[k]!;
    x[i] = s / l[i * p + i]!;
  }
  return x;
}

export function predictRidge(fit: RidgeFit, x: ArrayLike<number>): number {
  let s = fit.intercept;
  for (let j = 0; j < fit.weights.length; j++) s += fit.weights[j]! * x[j]!;
  return s;
}

/**
 * The ridge fit accumulated row by row in O(p²) memory (sums of x, y, xxᵀ and xy), so that fits over many rows
 * never hold them. Standardisation is derived from the sums.
 */
export class RidgeAccumulator {
  private n = 0;
  private readonly sx: Float64Array;
  private readonly sxx: Float64Array;
  private readonly sxy: Float64Array;
  private sy = 0;

  constructor(readonly p: number) {
    this.sx = new Float64Array(p);
    this.sxx = new Float64Array(p * p);
    this.sxy = new Float64Array(p);
  }

  get rows(): number {
    return this.n;
  }

  add(x: ArrayLike<number>, y: number): void {
    const p = this.p;
    this.n++;
    this.sy += y;
    for (let j = 0; j < p; j++) {
      const xj = x[j]!;
      if (xj === 0) continue;
      this.sx[j]! += xj;
      this.sxy[j]! += xj * y;
      for (let k = 0; k <= j; k++) this.sxx[j * p + k]! += xj * x[k]!;
    }
  }

  solve(lambda: number): RidgeFit {
    const { n, p } = this;
    if (n === 0) throw new Error('ridge: no rows');
    const mean = Array.from(this.sx, (s) => s / n);
    const yMean = this.sy / n;
    const sd = Array.from({ length: p }, (_, j) => Math.sqrt(Math.max(0, this.sxx[j * p + j]! / n - mean[j]! ** 2)) || 1);
    const a = new Float64Array(p * p);
    const b = new Float64Array(p);
    for (let j = 0; j < p; j++) {
      b[j] = (this.sxy[j]! - n * mean[j]! * yMean) / sd[j]!;
      for (let k = 0; k <= j; k++) a[j * p + k] = (this.sxx[j * p + k]! - n * mean[j]! * mean[k]!) / (sd[j]! * sd[k]!);
      a[j * p + j]! += lambda * n + 1e-9;
    }
    const w = choleskySolve(a, b, p);
    const weights = Array.from(w, (x, j) => x / sd[j]!);
    const intercept = yMean - weights.reduce((s, x, j) => s + x * mean[j]!, 0);
    return { intercept, weights };
  }
}
