/**
 * The row formats alone: RowBinary encoding and decoding and the tables' row types, with nothing of the
 * engine. Worker threads (decode threads, the shadow mirror) import this, never `index.ts`: loading the
 * embedded engine's native library in a worker ties it to that thread, and ending the thread (a pool
 * closing, a thread replaced) leaves the process's engine unable to answer.
 */
export { RowBinaryReader, RowBinaryWriter, type StringCache, stringCache } from "./row-binary.js";
export type { InsertTable, TableName } from "./tables/index.js";
export { type Label, labelsRowBinary } from "./tables/labels.js";
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
export { type ShadowPrediction, writeShadowPrediction } from "./tables/shadow-predictions.js";
