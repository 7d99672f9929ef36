import type { ClickHouseSettings } from "@clickhouse/client";
import { IN_SCOPE_SQL, SCAN_SETTINGS, WINDOW_START_SQL } from "../scope.js";
import type { ScopeFacts } from "./scope-facts.js";

/** How a query built on labelledPredictionsSql joins a scope's predictions to their labels. */
export interface LabelledJoin {
  /** Settings for the query: which side the hash table is built from. */
  settings: ClickHouseSettings;
  /** Whether the labels are first narrowed to the ids of the scope's predictions (see below). */
  narrowLabels: boolean;
  /**
   * Parameters the query must add: the scope's id range, when narrowing and already read (`{id_lo}`,
   * `{id_hi}`); otherwise the query reads the range itself.
   */
  params: Record<string, string>;
}

/**
 * A scope with this many times fewer predictions than its model has labels reads only the labels of its
 * own predictions: an hour's scope against a day of labels, as an incremental run has.
 */
const NARROW_RATIO = 8;

/**
 * How a query built on labelledPredictionsSql joins a scope's `predictions` to its model's `labels`
 * (counted by scopeFacts): the hash table is built from the smaller side. The planner's own choice went
 * wrong both ways: for a day of 3.3 million predictions it hashed them instead of the model's 1.7 million
 * labels (2.4–4.1 s against 1.25 s), and hashing the labels for an hour's scope is slower than hashing the
 * hour. A scope much smaller than the labels also narrows the labels to its prediction ids before the
 * join: to the range between its least and greatest id, which the engine finds by the primary key of
 * `labels` (sorted by id; a narrow range when ids sort by time, sequential or UUIDv7), then to the ids'
 * 64-bit hashes, matched row by row (an hour of 42,000 predictions against a day's 1 million labels: 0.22 s
 * → 0.08 s with a set of the ids; an hour of 139,000 against 1.7 million: 160–330 ms with that set, whose
 * sorting for the key's search was most of it, against 95–115 ms this way). A shared hash only lets a label
 * through to the join, which matches by the id's 128-bit hash. For a day's scope the narrowing costs more
 * than it saves (3.5 s against 1.25 s).
 */
export function labelledJoin({
  predictions,
  labels,
  idRange,
}: Pick<ScopeFacts, "predictions" | "labels"> & Partial<Pick<ScopeFacts, "idRange">>): LabelledJoin {
  const narrowLabels = predictions * NARROW_RATIO <= labels;
  // 'true' swaps the sides, hashing the predictions (the left side); 'false' hashes the labels. Labels
  // narrowed to the scope's ids are at most as many as its predictions: an hour's join took 70–110 ms
  // hashing them against 80–220 ms hashing the predictions.
  const hashPredictions = predictions < labels && !narrowLabels;
  return {
    settings: {
      ...SCAN_SETTINGS,
      query_plan_join_swap_table: hashPredictions ? "true" : "false",
      // The narrowing's hashes are matched row by row: not a key, so no sorted set is made for a search.
      use_index_for_in_with_subqueries: 0,
    },
    narrowLabels,
    params: narrowLabels && idRange ? { id_lo: idRange.lo, id_hi: idRange.hi } : {},
  };
}

/**
 * A scope's predictions (with `ws`, their window, `prediction_id` and the columns asked for) left-joined to
 * their labels: `has_label` 1 or 0, `label_class`, `label_value`. A label corrected later wins (FINAL: the
 * table's ReplacingMergeTree keeps the newest ingest time). Measured on 3.3 million predictions: FINAL
 * 1.1–1.4 s, argMax grouped by id 1.9 s. `join`: from labelledJoin, for this scope; narrowing the labels to
 * the scope's ids is exact, since a label joins nothing else.
 *
 * The sides are matched by a 128-bit hash of the id (ID_HASH_SQL), not by the id: a hash table of strings
 * compares each probe with a key stored elsewhere in memory, and that miss was most of the join (a day's
 * 3.3 million predictions against 1.7 million labels: 2.1–2.4 s CPU by id, 1.4–1.7 s by hash, hashing
 * included). Two of 10 million distinct ids share a 128-bit hash with a probability near 10⁻²⁵, far below
 * any other error here; the hash is not made to resist ids crafted to collide, and ids come from the
 * model's own serving stack.
 */
export function labelledPredictionsSql(db: string, columns: string, join: LabelledJoin): string {
  // The scope's predictions: the left side, and what a small scope narrows the labels to.
  const ids = `${db}.predictions WHERE ${IN_SCOPE_SQL}`;
  // The range as read with the scope's facts, or one scalar subquery for both bounds (the engine computes
  // each distinct one once).
  const range = `(SELECT (min(prediction_id), max(prediction_id)) FROM ${ids})`;
  const [lo, hi] =
    "id_lo" in join.params ? ["{id_lo:String}", "{id_hi:String}"] : [`${range}.1`, `${range}.2`];
  const narrow = join.narrowLabels
    ? `AND prediction_id BETWEEN ${lo} AND ${hi}
       AND cityHash64(prediction_id) IN (SELECT cityHash64(prediction_id) FROM ${ids})`
    : "";
  return `(
      SELECT ${WINDOW_START_SQL} AS ws, prediction_id, ${ID_HASH_SQL} AS id_hash, ${columns}
      FROM ${ids}
    ) AS p
    LEFT JOIN (
      SELECT ${ID_HASH_SQL} AS id_hash, label_class, label_value, toUInt8(1) AS has_label
      FROM ${db}.labels FINAL
      WHERE model = {model:String} ${narrow}
    ) AS l USING (id_hash)`;
}

/** What labelledPredictionsSql matches a prediction and its label by (see there). */
const ID_HASH_SQL = "reinterpretAsUInt128(xxh3_128(prediction_id))";
