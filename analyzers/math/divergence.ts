/**
 * Additive smoothing so empty bins keep KL finite: p'_i = (c_i/n + ε) / (1 + kε), k = number of bins.
 * An empty bin gets ε/(1 + kε), about 1e-4.
 */
export const SMOOTHING_EPSILON = 1e-4;

/**
 * Bin counts as a probability vector smoothed as {@link SMOOTHING_EPSILON} describes; it sums to 1.
 *
 * @param epsilon defaults to {@link SMOOTHING_EPSILON}; 0 gives the plain proportions.
 * @throws RangeError when the counts total 0 (including no bins), a count is negative or not finite, or
 *   epsilon is negative or not finite.
 */
export function smoothedDistribution(
  counts: readonly number[],
  epsilon: number = SMOOTHING_EPSILON,
): number[] {
  if (!Number.isFinite(epsilon) || epsilon < 0)
    throw new RangeError(`smoothing epsilon ${epsilon} is not ≥ 0`);
  const n = totalOf(counts);
  if (n === 0) throw new RangeError("cannot make a distribution of counts that total 0");
  const k = counts.length;
  return counts.map((c) => (c / n + epsilon) / (1 + k * epsilon));
}

/**
 * Kullback–Leibler divergence D(p ‖ q) = Σ p_i ln(p_i/q_i), in nats (natural log), as
 * `scipy.stats.entropy(p, q)`. Terms with p_i = 0 contribute 0; a bin with p_i > 0 and q_i = 0 makes it
 * Infinity, which is why {@link compareDistributions} smooths. Not symmetric.
 *
 * @param p probability vector (not renormalized here)
 * @param q probability vector over the same bins
 * @throws RangeError when p and q differ in length.
 */
export function klDivergence(p: readonly number[], q: readonly number[]): number {
  assertSameBins(p, q);
  let d = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    if (pi > 0) d += pi * Math.log(pi / q[i]!);
  }
  return d;
}

/**
 * Jensen–Shannon distance: √(JS divergence), JS = (D(p ‖ m) + D(q ‖ m)) / 2 with m = (p + q)/2 and natural
 * log, as `scipy.spatial.distance.jensenshannon(p, q)` with its default base e. Symmetric, always finite,
 * between 0 and √(ln 2) ≈ 0.8326 (disjoint supports).
 *
 * Unlike scipy it does not renormalize p and q, which are expected to be probability vectors already.
 *
 * @throws RangeError when p and q differ in length.
 */
export function jensenShannonDistance(p: readonly number[], q: readonly number[]): number {
  assertSameBins(p, q);
  const m = p.map((pi, i) => (pi + q[i]!) / 2);
  const js = (klDivergence(p, m) + klDivergence(q, m)) / 2;
  // JS is ≥ 0 in exact arithmetic, but nearly equal p and q can round it to -1e-17, whose root is NaN.
  return Math.sqrt(Math.max(0, js));
}

/**
 * Population stability index Σ (p_i − q_i) ln(p_i/q_i), natural log; equal to D(p ‖ q) + D(q ‖ p), so
 * symmetric and ≥ 0. Bins with p_i = q_i contribute 0 (including both 0); a bin empty on one side only
 * makes it Infinity. Rule of thumb: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 major shift.
 *
 * @throws RangeError when p and q differ in length.
 */
export function populationStabilityIndex(p: readonly number[], q: readonly number[]): number {
  assertSameBins(p, q);
  let psi = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    const qi = q[i]!;
    if (pi !== qi) psi += (pi - qi) * Math.log(pi / qi);
  }
  return psi;
}

export interface Divergences {
  kl: number;
  jsDistance: number;
  psi: number;
}

/**
 * current and reference are bin counts aligned by index (same bins); both smoothed with SMOOTHING_EPSILON;
 * D(current ‖ reference). JS distance and PSI are symmetric, so only KL depends on the order.
 *
 * @returns undefined when either total is 0.
 * @throws RangeError when the two differ in length, or a count is negative or not finite.
 */
export function compareDistributions(
  current: readonly number[],
  reference: readonly number[],
): Divergences | undefined {
  assertSameBins(current, reference);
  if (totalOf(current) === 0 || totalOf(reference) === 0) return undefined;
  const p = smoothedDistribution(current);
  const q = smoothedDistribution(reference);
  return {
    kl: klDivergence(p, q),
    jsDistance: jensenShannonDistance(p, q),
    psi: populationStabilityIndex(p, q),
  };
}

function totalOf(counts: readonly number[]): number {
  let n = 0;
  for (const c of counts) {
    if (!Number.isFinite(c) || c < 0) throw new RangeError(`bin count ${c} is not a finite count ≥ 0`);
    n += c;
  }
  return n;
}

function assertSameBins(p: readonly number[], q: readonly number[]): void {
  if (p.length !== q.length) throw new RangeError(`distributions have ${p.length} and ${q.length} bins`);
}
