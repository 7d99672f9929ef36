import { describe, expect, it } from "vitest";
import {
  compareDistributions,
  jensenShannonDistance,
  klDivergence,
  populationStabilityIndex,
  SMOOTHING_EPSILON,
  smoothedDistribution,
} from "../../../analyzers/math/index.js";
import { random } from "../../helpers/fixtures.js";

const SQRT_LN2 = 0.8325546111576977; // √(ln 2), the largest JS distance in nats

function randomDistribution(next: () => number, bins: number): number[] {
  const w = Array.from({ length: bins }, () => next());
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / total);
}

describe("smoothedDistribution", () => {
  it("adds ε to each proportion and renormalizes", () => {
    // [3, 1]: n=4, k=2 → ((3/4 + 1e-4)/(1 + 2e-4), (1/4 + 1e-4)/(1 + 2e-4)) = (0.7501/1.0002, 0.2501/1.0002)
    const p = smoothedDistribution([3, 1]);
    expect(SMOOTHING_EPSILON).toBe(1e-4);
    expect(p[0]).toBeCloseTo(0.7501 / 1.0002, 12); // ≈ 0.749950010
    expect(p[1]).toBeCloseTo(0.2501 / 1.0002, 12); // ≈ 0.250049990
  });

  it("keeps an empty bin above 0 and the total at 1", () => {
    // [4, 6, 0]: n=10, k=3 → (0.4001, 0.6001, 0.0001)/1.0003
    const q = smoothedDistribution([4, 6, 0]);
    expect(q[2]).toBeCloseTo(0.0001 / 1.0003, 15); // ≈ 9.997e-5
    expect(q.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12); // (1 + kε)/(1 + kε)
  });

  it("gives the plain proportions with ε = 0", () => {
    expect(smoothedDistribution([1, 3, 0], 0)).toEqual([0.25, 0.75, 0]); // 1/4, 3/4, 0/4
  });

  it.each([
    { name: "counts totalling 0", counts: [0, 0], epsilon: undefined },
    { name: "no bins", counts: [], epsilon: undefined },
    { name: "a negative count", counts: [3, -1], epsilon: undefined },
    { name: "a NaN count", counts: [3, Number.NaN], epsilon: undefined },
    { name: "a negative ε", counts: [3, 1], epsilon: -1e-4 },
  ])("rejects $name", ({ counts, epsilon }) => {
    expect(() => smoothedDistribution(counts, epsilon)).toThrow(RangeError);
  });
});

describe("KL divergence, JS distance and PSI", () => {
  it("are all 0 for identical distributions", () => {
    const p = [0.2, 0.5, 0.3];
    // every ratio is 1 and ln 1 = 0; for JS, m = p
    expect(klDivergence(p, p)).toBe(0);
    expect(jensenShannonDistance(p, p)).toBe(0);
    expect(populationStabilityIndex(p, p)).toBe(0);
    // counts in the same proportions smooth to the same vector: 2/10 = 4/20, 5/10 = 10/20, 3/10 = 6/20
    expect(compareDistributions([2, 5, 3], [4, 10, 6])).toEqual({ kl: 0, jsDistance: 0, psi: 0 });
  });

  it("match the hand calculation for counts [3,1] against [1,3]", () => {
    /*
     * p = (0.7501, 0.2501)/1.0002 and q = (0.2501, 0.7501)/1.0002 (smoothing as above);
     * L = ln(0.7501/0.2501) ≈ 1.0983456930920172.
     * KL(p‖q) = (0.7501·L + 0.2501·(−L))/1.0002 = 0.5·L/1.0002 ≈ 0.5490630339392207
     * PSI = ((0.7501 − 0.2501)·L + (0.2501 − 0.7501)·(−L))/1.0002 = L/1.0002 ≈ 1.0981260678784415
     * JS: m = (0.5001, 0.5001)/1.0002 = (0.5, 0.5), and q mirrors p, so JS = KL(p‖m)
     *   = p₁·ln(2p₁) + p₂·ln(2p₂) ≈ 0.3040285735436 − 0.1732714505693 = 0.1307571229743
     *   distance = √0.1307571229743 ≈ 0.3616035439183837
     */
    const d = compareDistributions([3, 1], [1, 3]);
    expect(d?.kl).toBeCloseTo(0.5490630339392207, 12);
    expect(d?.psi).toBeCloseTo(1.0981260678784415, 12);
    expect(d?.jsDistance).toBeCloseTo(0.3616035439183837, 12);
  });

  it("stay finite when the reference has an empty bin", () => {
    const p = [0.3, 0.5, 0.2];
    const q = [0.4, 0.6, 0];
    // unsmoothed, 0.2·ln(0.2/0) is infinite
    expect(klDivergence(p, q)).toBe(Number.POSITIVE_INFINITY);
    expect(populationStabilityIndex(p, q)).toBe(Number.POSITIVE_INFINITY);
    /*
     * Smoothed (k=3, n=10 both): a = (0.3001, 0.5001, 0.2001), b = (0.4001, 0.6001, 0.0001), both /1.0003.
     * ln(a/b) ≈ (−0.287598763416868, −0.182288229570609, ln 2001 = 7.601402334583733)
     * KL  = Σ a·ln(a/b)/1.0003 = (−0.0863083889 − 0.0911623436 + 1.5210406071)/1.0003 ≈ 1.3431669245631723
     * PSI = Σ (a−b)·ln(a/b)/1.0003 = (0.0287598763 + 0.0182288230 + 1.5202804669)/1.0003 ≈ 1.5667991264775512
     */
    const d = compareDistributions([3, 5, 2], [4, 6, 0]);
    expect(d?.kl).toBeCloseTo(1.3431669245631723, 12);
    expect(d?.psi).toBeCloseTo(1.5667991264775512, 12);
    expect(d?.jsDistance).toBeGreaterThan(0);
    expect(d?.jsDistance).toBeLessThan(SQRT_LN2);
  });

  it("skip KL terms where p is 0", () => {
    // KL([1,0] ‖ [1/2,1/2]) = 1·ln(1/(1/2)) + 0 = ln 2
    expect(klDivergence([1, 0], [0.5, 0.5])).toBeCloseTo(Math.LN2, 12);
    // PSI skips a bin empty on both sides: (1/2 − 1/4)·ln 2 + (1/2 − 3/4)·ln(2/3) + 0
    expect(populationStabilityIndex([0.5, 0.5, 0], [0.25, 0.75, 0])).toBeCloseTo(
      0.25 * Math.LN2 - 0.25 * Math.log(2 / 3), // 0.25·0.6931471806 + 0.25·0.4054651081 ≈ 0.2746530722
      12,
    );
  });

  it("reach √(ln 2) for JS at disjoint supports", () => {
    // m = (1/2, 1/2): KL([1,0] ‖ m) = KL([0,1] ‖ m) = ln 2 → JS = ln 2, distance √(ln 2)
    expect(jensenShannonDistance([1, 0], [0, 1])).toBeCloseTo(SQRT_LN2, 12);
  });

  it("KL is not symmetric, JS and PSI are", () => {
    const p = [0.1, 0.4, 0.5];
    const q = [0.8, 0.15, 0.05];
    // KL(p‖q) = 0.1·ln(1/8) + 0.4·ln(8/3) + 0.5·ln 10 ≈ −0.2079 + 0.3923 + 1.1513 = 1.3357
    // KL(q‖p) = 0.8·ln 8 + 0.15·ln(3/8) + 0.05·ln(1/10) ≈ 1.6636 − 0.1471 − 0.1151 = 1.4013
    expect(klDivergence(p, q)).toBeCloseTo(
      0.1 * Math.log(0.1 / 0.8) + 0.4 * Math.log(0.4 / 0.15) + 0.5 * Math.log(0.5 / 0.05),
      12,
    );
    expect(klDivergence(q, p)).toBeCloseTo(
      0.8 * Math.log(0.8 / 0.1) + 0.15 * Math.log(0.15 / 0.4) + 0.05 * Math.log(0.05 / 0.5),
      12,
    );
    expect(Math.abs(klDivergence(p, q) - klDivergence(q, p))).toBeGreaterThan(0.05);
    expect(jensenShannonDistance(p, q)).toBeCloseTo(jensenShannonDistance(q, p), 12);
    expect(populationStabilityIndex(p, q)).toBeCloseTo(populationStabilityIndex(q, p), 12);
    // PSI = KL(p‖q) + KL(q‖p)
    expect(populationStabilityIndex(p, q)).toBeCloseTo(klDivergence(p, q) + klDivergence(q, p), 12);
  });

  it("keep KL ≥ 0, PSI ≥ 0 and 0 ≤ JS ≤ √(ln 2) over random distributions", () => {
    const next = random(20240917);
    for (let trial = 0; trial < 50; trial++) {
      const bins = 2 + Math.floor(next() * 9);
      const p = randomDistribution(next, bins);
      const q = randomDistribution(next, bins);
      expect(klDivergence(p, q)).toBeGreaterThanOrEqual(0);
      expect(populationStabilityIndex(p, q)).toBeGreaterThanOrEqual(0);
      const js = jensenShannonDistance(p, q);
      expect(js).toBeGreaterThanOrEqual(0);
      expect(js).toBeLessThanOrEqual(SQRT_LN2);
      expect(js).toBeCloseTo(jensenShannonDistance(q, p), 12);
    }
  });

  it.each([
    { name: "klDivergence", f: klDivergence },
    { name: "jensenShannonDistance", f: jensenShannonDistance },
    { name: "populationStabilityIndex", f: populationStabilityIndex },
  ])("$name rejects distributions of different lengths", ({ f }) => {
    expect(() => f([0.5, 0.5], [0.2, 0.3, 0.5])).toThrow(RangeError);
  });
});

describe("compareDistributions", () => {
  it("measures D(current ‖ reference), so swapping the two changes KL only", () => {
    /*
     * With a, b as in the empty-bin case above, D(reference ‖ current) = Σ b·ln(b/a)/1.0003
     *   = (0.1150682652 + 0.1093911666 − 0.0007601402)/1.0003 ≈ 0.22363220191437874,
     * far from D(current ‖ reference) ≈ 1.3431669245631723; JS and PSI do not move.
     */
    const forward = compareDistributions([3, 5, 2], [4, 6, 0]);
    const backward = compareDistributions([4, 6, 0], [3, 5, 2]);
    expect(forward?.kl).toBeCloseTo(1.3431669245631723, 12);
    expect(backward?.kl).toBeCloseTo(0.22363220191437874, 12);
    expect(backward?.psi).toBeCloseTo(1.5667991264775512, 12);
    expect(backward?.jsDistance).toBeCloseTo(forward?.jsDistance ?? Number.NaN, 12);
  });

  it.each([
    { name: "the current window is empty", current: [0, 0], reference: [1, 2] },
    { name: "the reference is empty", current: [1, 2], reference: [0, 0] },
    { name: "there are no bins", current: [], reference: [] },
  ])("has nothing to say when $name", ({ current, reference }) => {
    expect(compareDistributions(current, reference)).toBeUndefined();
  });

  it.each([
    { name: "bins that do not line up", current: [1, 2], reference: [1, 2, 3] },
    { name: "a negative count", current: [1, -2], reference: [1, 2] },
  ])("rejects $name", ({ current, reference }) => {
    expect(() => compareDistributions(current, reference)).toThrow(RangeError);
  });
});
