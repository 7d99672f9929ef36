export {
  type InsertOptions,
  type ReadOnlyQuery,
  Store,
  type StoreMode,
  type StoreOptions,
} from "./client.js";
export { clickhouseCode, StoreError, type StoreErrorCode } from "./errors.js";
export { migrate, SCHEMA_VERSION, type SchemaOptions } from "./migrations.js";
export { RowBinaryReader, RowBinaryWriter } from "./row-binary.js";
export type { InsertTable, TableName } from "./tables/index.js";
export { type Label, labelsRowBinary } from "./tables/labels.js";
export { type MetricRow, metricRecord, utcText } from "./tables/metrics.js";
export {
  PREDICTION_SOURCES,
  type Prediction,
  type PredictionFeaturesView,
  type PredictionParts,
  PredictionRows,
  type PredictionSource,
  readPredictionRows,
  scanPredictionFeatures,
} from "./tables/predictions.js";
export type { ShadowCandidateRow } from "./tables/shadow-candidates.js";
export { type ShadowPrediction, writeShadowPrediction } from "./tables/shadow-predictions.js";
