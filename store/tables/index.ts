import type { InsertLayout } from "./insert-layout.js";
import { LABEL_INSERT_LAYOUT } from "./labels.js";
import { PREDICTION_INSERT_LAYOUT } from "./predictions.js";
import { SHADOW_PREDICTION_INSERT_LAYOUT } from "./shadow-predictions.js";

/** The tables ingest writes (through the spool). */
export type TableName = "predictions" | "labels";

/** Tables rows are inserted into; identifiers come from this fixed set, never from input. */
export type InsertTable = TableName | "shadow_predictions";

/** How each table's rows are laid out in RowBinary, for inserts. */
export const INSERT_LAYOUTS: Record<InsertTable, InsertLayout> = {
  predictions: PREDICTION_INSERT_LAYOUT,
  labels: LABEL_INSERT_LAYOUT,
  shadow_predictions: SHADOW_PREDICTION_INSERT_LAYOUT,
};
