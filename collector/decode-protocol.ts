import type { ReadResult, RequestFormat } from "./read-request.js";

/** A body sent to a decode thread (copied: the main thread's buffers may share memory with others). */
export interface DecodeTask {
  id: number;
  format: RequestFormat;
  body: Uint8Array;
  receivedAtMs: number;
}

/** A decode thread's answer: the rows read, or the error a bug threw. */
export type DecodeReply = { id: number; result: ReadResult } | { id: number; error: string };
