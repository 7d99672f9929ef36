import type { Store } from "../../store/index.js";
import { IN_SCOPE_SQL, queryRows, type Scope, scopeParams } from "../scope.js";
import {
  KEYS_HASH_RANGE_SQL,
  type KeysHashRange,
  keysHashRangeOf,
  type NumericLayout,
  numericLayouts,
} from "./feature-layouts.js";

/** What computing a scope needs to know before scanning it. */
export interface ScopeFacts {
  /** The scope's predictions. */
  predictions: number;
  /** Every label of the scope's model. */
  labels: number;
  /** Whether a candidate answered any of the scope's predictions. */
  shadowed: boolean;
  /** The orderings of numeric feature names (see numericLayouts). */
  layouts: NumericLayout[] | undefined;
}

/**
 * A scope's facts, read in one statement (and one more per ordering of feature names not seen before):
 * each statement costs the embedded engine, which runs one at a time, 5–15 ms however small, and an
 * incremental run computes a scope per model version.
 */
export async function scopeFacts(store: Store, scope: Scope, windowMs: number): Promise<ScopeFacts> {
  const db = store.database;
  const [row] = await queryRows<KeysHashRange & { labels: number; shadowed: number }>(
    store,
    `SELECT ${KEYS_HASH_RANGE_SQL},
       (SELECT count() FROM ${db}.labels WHERE model = {model:String}) AS labels,
       (SELECT count() FROM (SELECT 1 FROM ${db}.shadow_predictions WHERE ${IN_SCOPE_SQL} LIMIT 1)) AS shadowed
     FROM ${db}.predictions WHERE ${IN_SCOPE_SQL}`,
    scopeParams(scope, windowMs),
  );
  const range = keysHashRangeOf(row);
  return {
    predictions: range.rows,
    labels: Number(row?.labels ?? 0),
    shadowed: Number(row?.shadowed ?? 0) > 0,
    layouts: await numericLayouts(store, scope, windowMs, range),
  };
}
