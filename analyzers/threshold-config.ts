import type { Band, ThresholdRule } from "./math/index.js";
import { EXPORTED_METRICS } from "./metric-names.js";
import { DEFAULT_THRESHOLDS } from "./options.js";
import type { Thresholds } from "./window-metrics.js";

/**
 * Thresholds from a JSON document such as
 * `{"accuracy": {"alert": {"min": 0.8}}, "kl_divergence": {"warn": {"max": 0.05}, "alert": {"max": 0.1}}}`:
 * each metric named replaces its default rule whole. Returns the merged thresholds, or every problem found.
 */
export function parseThresholds(document: unknown): Thresholds | string[] {
  if (typeof document !== "object" || document === null || Array.isArray(document))
    return ["must be a JSON object of metric name → rule"];
  const problems: string[] = [];
  const out: Record<string, ThresholdRule> = { ...DEFAULT_THRESHOLDS };
  for (const [metric, value] of Object.entries(document)) {
    if (!(EXPORTED_METRICS as readonly string[]).includes(metric)) {
      problems.push(`${metric}: not a metric (one of ${EXPORTED_METRICS.join(", ")})`);
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      problems.push(`${metric}: a rule is an object with warn, alert and/or referenceK`);
      continue;
    }
    const rule: ThresholdRule = {};
    for (const [field, v] of Object.entries(value as Record<string, unknown>)) {
      if (field === "warn" || field === "alert") {
        const band = parseBand(v);
        if (typeof band === "string") problems.push(`${metric}.${field}: ${band}`);
        else rule[field] = band;
      } else if (field === "referenceK") {
        if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
          problems.push(`${metric}.referenceK: must be a positive number`);
        else rule.referenceK = v;
      } else problems.push(`${metric}.${field}: unknown field (warn, alert, referenceK)`);
    }
    out[metric] = rule;
  }
  return problems.length > 0 ? problems : out;
}

function parseBand(v: unknown): Band | string {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return "a band is an object with min and/or max";
  const band: Band = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (k !== "min" && k !== "max") return `unknown bound ${k} (min, max)`;
    if (typeof x !== "number" || !Number.isFinite(x)) return `${k} must be a number`;
    band[k] = x;
  }
  if (band.min !== undefined && band.max !== undefined && band.min > band.max) return "min is above max";
  return band;
}
