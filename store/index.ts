export {
  type InsertOptions,
  type ReadOnlyQuery,
  Store,
  type StoreMode,
  type StoreOptions,
} from "./client.js";
export { mutationTarget, onCluster } from "./cluster.js";
export { clickhouseCode, StoreError, type StoreErrorCode } from "./errors.js";
export { migrate, SCHEMA_VERSION, type SchemaOptions, schemaStatements } from "./migrations.js";
export * from "./rows.js";
export { type MetricRow, metricRecord, utcText } from "./tables/metrics.js";
export type { ShadowCandidateRow } from "./tables/shadow-candidates.js";
