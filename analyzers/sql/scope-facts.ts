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
  /** The least and greatest prediction id, read for a scope of a few windows only (see ID_RANGE_MAX_WINDOWS). */
  idRange: IdRange | undefined;
}

export interface IdRange {
  lo: string;
  hi: string;
}

/**
 * Scopes of at most this many windows read their least and greatest prediction id with their facts: a
 * scope that small usually narrows its model's labels to that range (labelledJoin), and the range read here
 * saved the join's own two reads of it (an hour's cells: 78 ms against 100). A day's scope does not narrow,
 * and reading its ids cost 50 ms more.
 */
const ID_RANGE_MAX_WINDOWS = 6;

/**
 * A scope's facts, read in one statement (and one more per ordering of feature names not seen before):
 * each statement costs the embedded engine, which runs one at a time, 5–15 ms however small, and an
 * incremental run computes a scope per model version.
 */
export async function scopeFacts(store: Store, scope: Scope, windowMs: number): Promise<ScopeFacts> {
  const db = store.database;
  const withIds = scope.windowStartsMs.length <= ID_RANGE_MAX_WINDOWS;
  const [row] = await queryRows<
    KeysHashRange & { labels: number; shadowed: number; id_lo?: string; id_hi?: string }
  >(
    store,
    `SELECT ${KEYS_HASH_RANGE_SQL},
       ${withIds ? "min(prediction_id) AS id_lo, max(prediction_id) AS id_hi," : ""}
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
    idRange:
      range.rows > 0 && row?.id_lo !== undefined && row.id_hi !== undefined
        ? { lo: row.id_lo, hi: row.id_hi }
        : undefined,
  };
}
