import { mean, median, standardDeviation } from "simple-statistics";

/** An interval of acceptable values; a missing side is unbounded, and a value equal to a bound is inside. */
export interface Band {
  min?: number;
  max?: number;
}

export interface ThresholdRule {
  /** static bands: outside warn → "warn", outside alert → "alert" */
  warn?: Band;
  alert?: Band;
  /**
   * when set, a band derived from the reference windows' values of the same metric: mean ± k·sd, as
   * NannyML does; outside it → "alert"
   */
  referenceK?: number;
}

export type Status = "ok" | "warn" | "alert";

/**
 * mean ± k·sd of the reference windows' values (population standard deviation, like NannyML's numpy std);
 * undefined with fewer than 2 values, whose sd of 0 would turn every other value into an alert.
 *
 * @throws RangeError when k is negative or not finite, or a value is not finite.
 */
export function referenceBand(values: readonly number[], k: number): Band | undefined {
  if (!Number.isFinite(k) || k < 0) throw new RangeError(`reference band multiplier k=${k} is not ≥ 0`);
  if (values.length < 2) return undefined;
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`reference value ${v} is not finite`);
  const centre = mean(values);
  const spread = k * standardDeviation(values);
  return { min: centre - spread, max: centre + spread };
}

/**
 * A derived band for a window whose value comes from `sampleSize` samples, where the reference windows'
 * values came from `referenceSizes` (their median counts): below it the band's half-width grows by
 * √(median / sampleSize), as the standard error of a rate or a mean does. A window still filling (labels
 * that come an hour late leave the newest window half labelled) is then no alert for its noise alone. At or
 * above the median, and for a band open on a side, the band is as given.
 */
export function bandForSample(
  band: Band | undefined,
  referenceSizes: readonly number[],
  sampleSize: number,
): Band | undefined {
  if (band?.min === undefined || band.max === undefined || referenceSizes.length === 0) return band;
  const referenceSize = median([...referenceSizes]);
  if (!(sampleSize > 0) || !(referenceSize > sampleSize)) return band;
  const centre = (band.min + band.max) / 2;
  const half = ((band.max - band.min) / 2) * Math.sqrt(referenceSize / sampleSize);
  return { min: centre - half, max: centre + half };
}

/**
 * The side of a band where a metric is worse, for a metric that is better `higher` (accuracy: only the
 * band's minimum is kept) or `lower` (an error, a divergence: only its maximum); the whole band when it has
 * no better side (a count, a bias). A window better than usual is no degradation to alert on; NannyML's
 * bands alert on both sides, which a health badge saying "degraded" for a better window turns misleading.
 */
export function worseSide(band: Band | undefined, better: "higher" | "lower" | undefined): Band | undefined {
  if (band === undefined || better === undefined) return band;
  return better === "higher" ? { min: band.min } : { max: band.max };
}

/**
 * The status of a metric's value: "alert" when outside the rule's alert band or the derived band, else
 * "warn" when outside its warn band, else "ok" (also with no rule). Alert wins over warn; a value equal to
 * a bound is inside.
 *
 * @param derived the band {@link referenceBand} gave for the rule's referenceK, applied whenever given.
 * @throws RangeError when value is NaN, which no band can place.
 */
export function statusOf(value: number, rule: ThresholdRule | undefined, derived?: Band): Status {
  if (Number.isNaN(value)) throw new RangeError("cannot grade a NaN metric value");
  if (isOutside(value, rule?.alert) || isOutside(value, derived)) return "alert";
  if (isOutside(value, rule?.warn)) return "warn";
  return "ok";
}

function isOutside(value: number, band: Band | undefined): boolean {
  if (!band) return false;
  return (band.min !== undefined && value < band.min) || (band.max !== undefined && value > band.max);
}
