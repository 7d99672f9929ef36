export {
  type InsertOptions,
  type ReadOnlyQuery,
  Store,
  type StoreMode,
  type StoreOptions,
} from "./client.js";
export { clickhouseCode, StoreError, type StoreErrorCode } from "./errors.js";
export { migrate, SCHEMA_VERSION, type SchemaOptions } from "./migrations.js";
export * from "./rows.js";
export { type MetricRow, metricRecord, utcText } from "./tables/metrics.js";
export type { ShadowCandidateRow } from "./tables/shadow-candidates.js";
