import { queryRows, type Store, utcText } from "../store/index.js";
import type { BaselineRange } from "./reference.js";
import type { Scope } from "./scope.js";
import type { ReferenceBins } from "./sql/distributions.js";

/** Bin counts by key (feature, or the predicted class) and bin. */
export type Counts = Map<string, Map<number, number>>;

/** What drift compares a version's windows with: the baseline's bins, and its counts in them. */
export interface Reference {
  bins: ReferenceBins;
  counts: Counts;
}

/** Which reference: the analysis configuration (configKey), the version and the baseline. */
export interface ReferenceAddress {
  config: string;
  scope: Scope;
  baseline: BaselineRange;
}

interface StoredRow {
  computed_at_ms: number;
  bins: string;
  counts: string;
}

/**
 * The reference stored for `at` by an earlier run (this process's or another's), or undefined when there
 * is none or it may be stale: a prediction of the baseline arrived after that run started (less
 * `lateVisibilityMs`, for what was on its way then). The check reads the baseline's arrival times, which
 * their skip index mostly skips; computing the reference again reads the baseline's every feature.
 */
export async function loadReference(
  store: Store,
  at: ReferenceAddress,
  lateVisibilityMs: number,
): Promise<Reference | undefined> {
  const db = store.database;
  const params = {
    config: at.config,
    model: at.scope.model,
    version: at.scope.modelVersion,
    reference: at.baseline.label,
  };
  const [row] = await queryRows<StoredRow>(
    store,
    `SELECT toUnixTimestamp64Milli(computed_at) AS computed_at_ms, bins, counts FROM ${db}.analyzer_references
     WHERE config = {config:String} AND model = {model:String} AND model_version = {version:String}
       AND reference = {reference:String}
     ORDER BY computed_at DESC LIMIT 1`,
    params,
  );
  if (row === undefined) return undefined;
  const [arrived] = await queryRows<{ n: number }>(
    store,
    `SELECT count() AS n FROM (
       SELECT 1 FROM ${db}.predictions
       WHERE model = {model:String} AND model_version = {version:String}
         AND time >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
         AND time < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
         AND ingest_time > fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC')
       LIMIT 1)`,
    {
      ...params,
      from_ms: at.baseline.fromMs,
      to_ms: at.baseline.toMs,
      since_ms: Number(row.computed_at_ms) - lateVisibilityMs,
    },
  );
  if (Number(arrived?.n ?? 0) > 0) return undefined;
  try {
    return decodeReference(row.bins, row.counts);
  } catch {
    return undefined; // unreadable (written by hand, or cut short): computed again, and stored anew
  }
}

/** Stores the reference a run computed; `computedAtMs` is when that run started. */
export async function storeReference(
  store: Store,
  at: ReferenceAddress,
  reference: Reference,
  computedAtMs: number,
): Promise<void> {
  // JSON has no infinities: a reference that holds one (ingest refuses them, so none should) is not stored.
  for (const edges of reference.bins.edges.values()) if (!edges.every(Number.isFinite)) return;
  const { bins, counts } = encodeReference(reference);
  await store.client.insert({
    table: `${store.database}.analyzer_references`,
    values: [
      {
        config: at.config,
        model: at.scope.model,
        model_version: at.scope.modelVersion,
        reference: at.baseline.label,
        computed_at: utcText(computedAtMs),
        bins,
        counts,
      },
    ],
    format: "JSONEachRow",
  });
}

/** The reference as two JSON texts, Maps as lists of entries. */
function encodeReference(reference: Reference): { bins: string; counts: string } {
  return {
    bins: JSON.stringify({ edges: [...reference.bins.edges], top: [...reference.bins.top] }),
    counts: JSON.stringify([...reference.counts].map(([key, bins]) => [key, [...bins]])),
  };
}

function decodeReference(bins: string, counts: string): Reference {
  const b = JSON.parse(bins) as { edges: [string, number[]][]; top: [string, string[]][] };
  const c = JSON.parse(counts) as [string, [number, number][]][];
  return {
    bins: { edges: new Map(b.edges), top: new Map(b.top) },
    counts: new Map(c.map(([key, entries]) => [key, new Map(entries)])),
  };
}
