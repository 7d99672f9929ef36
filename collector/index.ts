export type { BodyLimits } from "../common/index.js";
export { DecodePool, type DecodePoolOptions } from "./decode-pool.js";
export {
  EventReader,
  type MappingLimits,
  REJECT_REASONS,
  type Rejection,
  type RejectReason,
} from "./event-reader.js";
export { type GrpcReceiver, type GrpcReceiverOptions, startGrpcReceiver } from "./grpc/receiver.js";
export { type CollectorHttpOptions, collectorRoutes } from "./http/routes.js";
export { encodeCallBatch, readCallBatch } from "./inference/call-batch.js";
export {
  type CallReport,
  type CapturedCall,
  emptyCallReport,
  readCall,
} from "./inference/captured-call.js";
export { readInferences } from "./inference/pair.js";
export { type InferenceRecord, type ModelMapping, PayloadError } from "./inference/payload.js";
export {
  Ingest,
  type IngestDeps,
  type IngestResult,
  inlineReader,
  type PredictionListener,
  type RequestReader,
  type RowWriter,
} from "./ingest.js";
export { type KServeSinkOptions, kserveRoutes } from "./kserve/routes.js";
export {
  type MalformedBody,
  type ReadResult,
  type ReadRows,
  type RequestFormat,
  readRequest,
} from "./read-request.js";
export {
  type Frame,
  type InsertSegmentRows,
  type ReplayOptions,
  type SealedSegment,
  Spool,
  type SpoolEvents,
  type SpoolOptions,
  type WriteOutcome,
} from "./spool/index.js";
export { otlpLogsJson } from "./tap/otlp-json.js";
export { IDS_HEADER, type RunningTap, startTap, type TapOptions, type TapOutcome } from "./tap/proxy.js";
export { type DropReason, TapRecorder } from "./tap/recorder.js";
export { startTapThread, type TapThreadOptions } from "./tap/thread.js";
export { type CollectorMetrics, createCollectorMetrics, observeSpool } from "./telemetry.js";
