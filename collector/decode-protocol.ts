import type { MappingLimits } from "./event-reader.js";
import type { ReadResult, RequestFormat } from "./read-request.js";

/** What a decode thread is started with. */
export interface DecodeThreadData {
  limits: MappingLimits;
  name: string;
  nice?: number;
}

/** A body sent to a decode thread (copied: the main thread's buffers may share memory with others). */
export interface DecodeTask {
  id: number;
  format: RequestFormat;
  body: Uint8Array;
  receivedAtMs: number;
}

/** A decode thread's answer: the rows read, or the error a bug threw. */
export type DecodeReply = { id: number; result: ReadResult } | { id: number; error: string };
