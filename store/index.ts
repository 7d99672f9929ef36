export { type ReadOnlyQuery, Store, type StoreMode, type StoreOptions, type TableName } from "./client.js";
export { clickhouseCode, StoreError, type StoreErrorCode } from "./errors.js";
export { migrate, SCHEMA_VERSION, type SchemaOptions } from "./migrations.js";
export { LABEL_INSERT_COLUMNS, type Label, labelTsv } from "./tables/labels.js";
export {
  PREDICTION_INSERT_COLUMNS,
  PREDICTION_SOURCES,
  type Prediction,
  PredictionBatch,
  type PredictionParts,
  type PredictionSource,
} from "./tables/predictions.js";
