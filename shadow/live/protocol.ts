import type { CandidateSpec, SkipReason } from "../candidate.js";

export type { SkipReason };

/** Main thread → mirror worker. */
export type MirrorTask =
  /** The candidates to run from now on (replacing the previous set); answered by `candidates`. */
  | { type: "candidates"; specs: CandidateSpec[]; modelsDir: string }
  /** Acknowledged predictions, as PredictionRows bytes; answered by `consumed`. */
  | { type: "rows"; rows: Uint8Array; records: number }
  /** Run every partly filled batch now; answered by `flushed` once their answers were sent. */
  | { type: "flush" };

/** What the worker ran since its last report, per candidate. */
export interface CandidateProgress {
  inferred: number;
  skipped: Partial<Record<SkipReason, number>>;
  /** Wall time of each batch run, ms. */
  batchMs: number[];
}

/** Mirror worker → main thread. */
export type MirrorReply =
  | { type: "candidates"; running: string[]; refused: Array<{ name: string; message: string }> }
  /**
   * The rows of one `rows` task are run or waiting in a batch (their room in the queue is free again), with
   * what was run and skipped since the last report.
   */
  | { type: "consumed"; records: number; progress: Record<string, CandidateProgress> }
  /** Answers as shadow_predictions RowBinary, with what was run and skipped since the last report. */
  | { type: "answers"; rows: Uint8Array; count: number; progress: Record<string, CandidateProgress> }
  | { type: "flushed"; progress: Record<string, CandidateProgress> }
  /** A batch that failed in the model: its rows are lost to the comparison, counted. */
  | { type: "failed"; candidate: string; rows: number; message: string };
