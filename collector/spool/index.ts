export type { Frame } from "./frame.js";
export type { InsertSegmentRows, ReplayEvents, ReplayOptions } from "./replayer.js";
export type { SealedSegment } from "./segment-log.js";
export { Spool, type SpoolEvents, type SpoolOptions, type WriteOutcome } from "./spool.js";
