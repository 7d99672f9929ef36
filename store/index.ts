export {
  type InsertOptions,
  type ReadOnlyQuery,
  Store,
  type StoreMode,
  type StoreOptions,
} from "./client.js";
export { mutationTarget, onCluster } from "./cluster.js";
export { CURRENT_MIN_SAMPLE, type CurrentValue, currentValues } from "./current-values.js";
export { clickhouseCode, StoreError, type StoreErrorCode } from "./errors.js";
export { migrate, SCHEMA_VERSION, type SchemaOptions, schemaStatements } from "./migrations.js";
export { queryRows } from "./query-rows.js";
export * from "./rows.js";
export { type MetricRow, metricRecord, utcText } from "./tables/metrics.js";
export type { ShadowCandidateRow } from "./tables/shadow-candidates.js";
