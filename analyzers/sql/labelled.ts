import { IN_SCOPE_SQL, WINDOW_START_SQL } from "../scope.js";

/**
 * A scope's predictions (with `ws`, their window, and the columns asked for) left-joined to their labels:
 * `has_label` 1 or 0, `label_class`, `label_value`. A label corrected later wins (argMax by ingest time, as
 * the table's ReplacingMergeTree keeps); only the labels of the scope's predictions are read.
 */
export function labelledPredictionsSql(db: string, columns: string): string {
  return `(
      SELECT ${WINDOW_START_SQL} AS ws, prediction_id, ${columns}
      FROM ${db}.predictions WHERE ${IN_SCOPE_SQL}
    ) AS p
    LEFT JOIN (
      SELECT prediction_id, argMax(label_class, ingest_time) AS label_class,
        argMax(label_value, ingest_time) AS label_value, toUInt8(1) AS has_label
      FROM ${db}.labels
      WHERE model = {model:String}
        AND prediction_id IN (SELECT prediction_id FROM ${db}.predictions WHERE ${IN_SCOPE_SQL})
      GROUP BY prediction_id
    ) AS l USING (prediction_id)`;
}
