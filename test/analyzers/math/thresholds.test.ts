import { describe, expect, it } from "vitest";
import {
  type Band,
  bandForSample,
  referenceBand,
  type Status,
  statusOf,
  type ThresholdRule,
  worseSide,
} from "../../../analyzers/math/index.js";

describe("referenceBand", () => {
  it.each([
    {
      // mean 5; deviations −3 −1 −1 −1 0 0 2 4 → squares sum 9+1+1+1+0+0+4+16 = 32; variance 32/8 = 4; sd 2
      // k=2 → 5 ± 4
      values: [2, 4, 4, 4, 5, 5, 7, 9],
      k: 2,
      want: { min: 1, max: 9 },
    },
    {
      // mean 0.85; population sd = √(((−0.05)² + 0.05²)/2) = 0.05 (the sample sd would be 0.0707)
      // k=3 → 0.85 ± 0.15
      values: [0.8, 0.9],
      k: 3,
      want: { min: 0.7, max: 1.0 },
    },
    {
      // mean 2; variance (1 + 0 + 1)/3 = 2/3; sd √(2/3) ≈ 0.816496580927726; k=1
      values: [1, 2, 3],
      k: 1,
      want: { min: 2 - 0.816496580927726, max: 2 + 0.816496580927726 },
    },
    {
      // sd 0: the band is the single value
      values: [0.9, 0.9, 0.9],
      k: 3,
      want: { min: 0.9, max: 0.9 },
    },
  ])("is mean ± k·sd of $values with k=$k", ({ values, k, want }) => {
    const band = referenceBand(values, k);
    expect(band?.min).toBeCloseTo(want.min, 12);
    expect(band?.max).toBeCloseTo(want.max, 12);
  });

  it.each([[[]], [[0.9]]])("needs at least 2 values, not %o", (values) => {
    expect(referenceBand(values, 3)).toBeUndefined();
  });

  it.each([
    { values: [1, 2], k: -1 },
    { values: [1, 2], k: Number.NaN },
    { values: [1, Number.NaN], k: 3 },
  ])("rejects k=$k with values $values", ({ values, k }) => {
    expect(() => referenceBand(values, k)).toThrow(RangeError);
  });
});

describe("statusOf", () => {
  // PSI-like: warn above 0.1, alert above 0.25
  const upper: ThresholdRule = { warn: { max: 0.1 }, alert: { max: 0.25 } };
  // accuracy-like: warn below 0.9, alert below 0.8
  const lower: ThresholdRule = { warn: { min: 0.9 }, alert: { min: 0.8 } };
  // both sides: warn outside [10, 20], alert outside [5, 30]
  const both: ThresholdRule = { warn: { min: 10, max: 20 }, alert: { min: 5, max: 30 } };
  // from referenceBand([2, 4, 4, 4, 5, 5, 7, 9], 2): 5 ± 2·2
  const derived: Band = { min: 1, max: 9 };

  it.each<{ why: string; value: number; rule: ThresholdRule | undefined; derived?: Band; want: Status }>([
    { why: "below both bounds", value: 0.05, rule: upper, want: "ok" },
    { why: "on the warn max: inside", value: 0.1, rule: upper, want: "ok" },
    { why: "just above the warn max", value: 0.1000001, rule: upper, want: "warn" },
    { why: "on the alert max: inside it, outside warn", value: 0.25, rule: upper, want: "warn" },
    { why: "above both maxima: alert wins", value: 0.2500001, rule: upper, want: "alert" },
    { why: "above both minima", value: 0.95, rule: lower, want: "ok" },
    { why: "on the warn min: inside", value: 0.9, rule: lower, want: "ok" },
    { why: "just below the warn min", value: 0.8999999, rule: lower, want: "warn" },
    { why: "on the alert min: inside it, outside warn", value: 0.8, rule: lower, want: "warn" },
    { why: "below both minima: alert wins", value: 0.7999999, rule: lower, want: "alert" },
    { why: "inside both two-sided bands", value: 15, rule: both, want: "ok" },
    { why: "on the warn min", value: 10, rule: both, want: "ok" },
    { why: "on the warn max", value: 20, rule: both, want: "ok" },
    { why: "below the warn min", value: 9, rule: both, want: "warn" },
    { why: "above the warn max", value: 21, rule: both, want: "warn" },
    { why: "on the alert min", value: 5, rule: both, want: "warn" },
    { why: "on the alert max", value: 30, rule: both, want: "warn" },
    { why: "below the alert min", value: 4, rule: both, want: "alert" },
    { why: "above the alert max", value: 31, rule: both, want: "alert" },
    {
      why: "outside an alert band that has no warn band",
      value: 2,
      rule: { alert: { max: 1 } },
      want: "alert",
    },
    { why: "no rule", value: 1e9, rule: undefined, want: "ok" },
    { why: "a rule without bands", value: 1e9, rule: {}, want: "ok" },
    { why: "on the derived max", value: 9, rule: undefined, derived, want: "ok" },
    { why: "on the derived min", value: 1, rule: undefined, derived, want: "ok" },
    { why: "just above the derived max", value: 9.0000001, rule: undefined, derived, want: "alert" },
    { why: "just below the derived min", value: 0.9999999, rule: undefined, derived, want: "alert" },
    {
      why: "inside the derived band, outside warn",
      value: 7,
      rule: { warn: { max: 6 } },
      derived,
      want: "warn",
    },
    {
      why: "outside warn and derived: alert wins",
      value: 10,
      rule: { warn: { max: 6 } },
      derived,
      want: "alert",
    },
    { why: "an infinite value", value: Number.POSITIVE_INFINITY, rule: upper, want: "alert" },
  ])("$value is $want: $why", ({ value, rule, derived, want }) => {
    expect(statusOf(value, rule, derived)).toBe(want);
  });

  it("rejects NaN", () => {
    expect(() => statusOf(Number.NaN, upper)).toThrow(RangeError);
  });
});

describe("worseSide", () => {
  const band: Band = { min: 0.7, max: 0.9 };
  it.each([
    { why: "better higher (accuracy): alert below only", better: "higher" as const, want: { min: 0.7 } },
    { why: "better lower (MAE, KL): alert above only", better: "lower" as const, want: { max: 0.9 } },
    { why: "no better side (count, bias): both", better: undefined, want: band },
  ])("$why", ({ better, want }) => {
    expect(worseSide(band, better)).toEqual(want);
  });

  it("keeps an absent band absent, and a better window ok", () => {
    expect(worseSide(undefined, "higher")).toBeUndefined();
    expect(statusOf(0.95, undefined, worseSide(band, "higher"))).toBe("ok");
    expect(statusOf(0.65, undefined, worseSide(band, "higher"))).toBe("alert");
    expect(statusOf(0.65, undefined, worseSide(band, "lower"))).toBe("ok");
  });
});

describe("bandForSample", () => {
  const band: Band = { min: 0.7, max: 0.9 };
  it.each([
    // Reference windows of 100 (median of 90, 100, 400); a window of 25: √(100/25) = 2 → 0.8 ± 0.2.
    {
      why: "widens by √(median / n) for a smaller window",
      sizes: [400, 90, 100],
      n: 25,
      want: { min: 0.6, max: 1.0 },
    },
    // Median of 60 and 100 is 80; a window of 20: √4 = 2.
    {
      why: "takes the median of an even count as the mean of the middle two",
      sizes: [100, 60],
      n: 20,
      want: { min: 0.6, max: 1.0 },
    },
    { why: "keeps the band for a window as large as the reference's", sizes: [100, 100], n: 100, want: band },
    { why: "never narrows it for a larger window", sizes: [100], n: 400, want: band },
    { why: "keeps it for a window without samples", sizes: [100], n: 0, want: band },
    { why: "keeps it without reference sizes", sizes: [], n: 10, want: band },
  ])("$why", ({ sizes, n, want }) => {
    const got = bandForSample(band, sizes, n);
    expect(got?.min).toBeCloseTo(want.min as number, 12);
    expect(got?.max).toBeCloseTo(want.max as number, 12);
  });

  it("leaves a band open on a side, and an absent band, as they are", () => {
    expect(bandForSample({ min: 0.7 }, [100], 25)).toEqual({ min: 0.7 });
    expect(bandForSample(undefined, [100], 25)).toBeUndefined();
  });
});
