export {
  BatchWriter,
  type BatchWriterOptions,
  type FlushReport,
  type InsertTsv,
  type WriteOutcome,
} from "./batch-writer.js";
export { type MappingLimits, REJECT_REASONS, type RejectReason } from "./event-mapping.js";
export type { BodyLimits } from "./http/body.js";
export { type CollectorHttpOptions, collectorRoutes } from "./http/routes.js";
export { Ingest, type IngestDeps, type IngestResult, type PredictionListener } from "./ingest.js";
export { type CollectorMetrics, createCollectorMetrics } from "./telemetry.js";
