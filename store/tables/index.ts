import type { InsertLayout } from "./insert-layout.js";
import { LABEL_INSERT_LAYOUT } from "./labels.js";
import { PREDICTION_INSERT_LAYOUT } from "./predictions.js";

/** Tables rows are inserted into; identifiers come from this fixed set, never from input. */
export type TableName = "predictions" | "labels";

/** How each table's rows are laid out in RowBinary, for inserts. */
export const INSERT_LAYOUTS: Record<TableName, InsertLayout> = {
  predictions: PREDICTION_INSERT_LAYOUT,
  labels: LABEL_INSERT_LAYOUT,
};
