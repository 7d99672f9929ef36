import { LABEL_INSERT_COLUMNS, LABEL_ROW_STRUCTURE } from "./labels.js";
import { PREDICTION_INSERT_COLUMNS, PREDICTION_ROW_STRUCTURE } from "./predictions.js";

/** Tables rows are inserted into; identifiers come from this fixed set, never from input. */
export type TableName = "predictions" | "labels";

/** How each table's rows are laid out in RowBinary, for inserts. */
export const INSERT_LAYOUTS: Record<TableName, { columns: readonly string[]; structure: string }> = {
  predictions: { columns: PREDICTION_INSERT_COLUMNS, structure: PREDICTION_ROW_STRUCTURE },
  labels: { columns: LABEL_INSERT_COLUMNS, structure: LABEL_ROW_STRUCTURE },
};
