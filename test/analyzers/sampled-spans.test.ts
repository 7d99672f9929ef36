import { describe, expect, it } from "vitest";
import { numericLayouts } from "../../analyzers/sql/feature-layouts.js";
import { referenceBins, sampledSpans } from "../../analyzers/sql/reference-bins.js";
import { HOUR_MS } from "../helpers/fixtures.js";
import { migratedStoreForFile } from "../helpers/store.js";

// A large reference's bins come from spans of time the primary key finds: one span in each run of `every`,
// the same on every run, spread evenly over the whole reference.

const DAY_MS = 86_400_000;
const FROM = 1_795_737_600_000;

describe("sampled spans", () => {
  it("take one span in each run of `every`, within the reference, in order, adjacent ones joined", () => {
    const spanMs = 212_336;
    const every = 17;
    const ranges = sampledSpans(FROM, FROM + DAY_MS, spanMs, every);
    let covered = 0;
    let previousEnd = -Infinity;
    for (const [from, to] of ranges) {
      expect(from).toBeGreaterThanOrEqual(FROM);
      expect(to).toBeLessThanOrEqual(FROM + DAY_MS);
      expect(to).toBeGreaterThan(from);
      // Sorted, and never touching the range before (that one would have been extended).
      expect(from).toBeGreaterThan(previousEnd);
      previousEnd = to;
      covered += to - from;
    }
    // One span from each run of `every` spans (runs counted from the epoch, so the first and last may be
    // cut by the day's bounds): the day's ~407 spans give 24 or 25.
    const taken = covered / spanMs;
    const runs = Math.floor((FROM + DAY_MS - 1) / spanMs / every) - Math.floor(FROM / spanMs / every) + 1;
    expect(taken).toBeGreaterThan(runs - 2);
    expect(taken).toBeLessThanOrEqual(runs);
    // Spread evenly: each quarter of the day holds a quarter of them, give or take one.
    for (let q = 0; q < 4; q++) {
      const lo = FROM + (q * DAY_MS) / 4;
      const hi = lo + DAY_MS / 4;
      const inQuarter = ranges.reduce(
        (n, [from, to]) => n + Math.max(0, Math.min(to, hi) - Math.max(from, lo)),
        0,
      );
      expect(Math.abs(inQuarter / spanMs - taken / 4), `quarter ${q}`).toBeLessThanOrEqual(1.5);
    }
    expect(sampledSpans(FROM, FROM + DAY_MS, spanMs, every)).toEqual(ranges);
  });

  it("cut the first and last spans at the reference's bounds, and take one span from a reference shorter than a run", () => {
    const all = sampledSpans(FROM + 5, FROM + 95, 10, 1);
    expect(all).toEqual([[FROM + 5, FROM + 95]]);
    const one = sampledSpans(FROM, FROM + 30, 10, 2 ** 31);
    expect(one).toHaveLength(1);
    const [[from, to]] = one as [[number, number]];
    expect(to - from).toBe(10);
    expect(from).toBeGreaterThanOrEqual(FROM);
    expect(to).toBeLessThanOrEqual(FROM + 30);
  });
});

describe("a sampled reference", () => {
  const { store } = migratedStoreForFile();

  it("gives edges near the deciles of all its values", async () => {
    // 400,000 predictions over a day (twice the rows past which bins come from a sample); "u" uniform on
    // [0, 100), "s" the square of a uniform on [0, 10): its deciles are 100·level, not evenly spaced.
    const n = 400_000;
    await store().client.command({
      query: `INSERT INTO modelwatch.predictions (time, model, model_version, prediction_id, predicted_class, features_numeric, source)
        SELECT fromUnixTimestamp64Milli(toInt64(${FROM} + number * (${DAY_MS} / ${n})), 'UTC'), 'm', 'v', toString(number), 'a',
          map('u', (cityHash64(number, 'u') % 1000000) / 10000.0, 's', pow((cityHash64(number, 's') % 1000000) / 100000.0, 2)),
          'events'
        FROM numbers(${n})`,
    });
    const windowStartsMs = Array.from({ length: 24 }, (_, h) => FROM + h * HOUR_MS);
    const scope = { model: "m", modelVersion: "v", windowStartsMs };
    const layouts = await numericLayouts(store(), scope, HOUR_MS);
    const bins = await referenceBins(store(), scope, HOUR_MS, 10, layouts);
    const levels = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
    // A sample of ~200,000 values puts a decile within about ±0.2 percentile points (one standard error is
    // √(0.09/200,000) ≈ 0.07); whole spans of time vary a little more: within 1 point here.
    const u = bins.edges.get("n:u") as number[];
    expect(u).toHaveLength(9);
    u.forEach((edge, i) => {
      expect(Math.abs(edge - 100 * (levels[i] as number)), `u decile ${i + 1}`).toBeLessThan(1);
    });
    const sq = bins.edges.get("n:s") as number[];
    expect(sq).toHaveLength(9);
    // P(s < x) = √x / 10, so the level-l decile is 100·l²; compared on the uniform scale √x / 10.
    sq.forEach((edge, i) => {
      expect(Math.abs(Math.sqrt(edge) / 10 - (levels[i] as number)), `s decile ${i + 1}`).toBeLessThan(0.01);
    });
    expect(bins.top.get("p:class")).toEqual(["a"]);
  });
});
