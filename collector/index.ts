export type { BodyLimits } from "../common/index.js";
export {
  BatchWriter,
  type BatchWriterOptions,
  type FlushReport,
  type InsertRows,
  type WriteOutcome,
} from "./batch-writer.js";
export {
  EventReader,
  type MappingLimits,
  REJECT_REASONS,
  type Rejection,
  type RejectReason,
} from "./event-reader.js";
export { type CollectorHttpOptions, collectorRoutes } from "./http/routes.js";
export { Ingest, type IngestDeps, type IngestResult, type PredictionListener } from "./ingest.js";
export { type CollectorMetrics, createCollectorMetrics } from "./telemetry.js";
