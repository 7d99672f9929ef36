import type { ModelMapping } from "../inference/payload.js";
import type { TapOptions, TapOutcome } from "./proxy.js";
import type { DropReason } from "./recorder.js";

/** What the tap's thread is started with (plain data: it crosses to the thread). */
export interface TapThreadData extends Pick<TapOptions, "host" | "port" | "maxRecordBytes"> {
  /** The model server's URL (a URL does not cross threads). */
  upstream: string;
  mappings: Record<string, ModelMapping>;
  /** Predictions held while a batch is written, at most. */
  maxQueued: number;
}

/** Counts since the previous report. */
export interface TapCounts {
  outcomes: Partial<Record<TapOutcome, number>>;
  dropped: Partial<Record<DropReason, number>>;
}

export type FromTapThread =
  | { kind: "listening"; port: number }
  | { kind: "failed"; message: string }
  | { kind: "batch"; id: number; batch: Uint8Array; predictions: number }
  | { kind: "counts"; counts: TapCounts }
  | { kind: "closed"; counts: TapCounts };

export type ToTapThread = { kind: "written"; id: number; ok: boolean } | { kind: "close" };
