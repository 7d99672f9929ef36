import { Worker } from "node:worker_threads";
import { workerScript } from "../../common/index.js";
import type { ModelMapping } from "../inference/payload.js";
import type { RunningTap, TapOptions, TapOutcome } from "./proxy.js";
import type { DropReason } from "./recorder.js";
import type { FromTapThread, TapCounts, TapThreadData, ToTapThread } from "./thread-protocol.js";

export interface TapThreadOptions extends Pick<TapOptions, "upstream" | "host" | "port" | "maxRecordBytes"> {
  mappings: Readonly<Record<string, ModelMapping>>;
  /** Predictions held while a batch is written, at most; past it new calls are dropped and counted. */
  maxQueued: number;
  /** Writes a batch of recorded calls (as call-batch.ts lays them out); a throw counts them as dropped. */
  write(batch: Uint8Array, predictions: number): Promise<void>;
  /** What the proxy decided about calls (reading recorded ones is the writer's to count). */
  count(outcome: TapOutcome, n: number): void;
  dropped(predictions: number, reason: DropReason): void;
  /** Told when the thread dies unexpectedly (the tap then no longer listens); must not throw. */
  onError(error: Error): void;
}

/**
 * The tap proxy on a thread of its own, recording into batches it hands to this thread to write. The
 * service's event loop (ingest, queries, its garbage collection over a large heap) then never stands between
 * a client and its answer, and the proxy's own collections are of a small heap. Resolves once it listens.
 */
export async function startTapThread(options: TapThreadOptions): Promise<RunningTap> {
  const data: TapThreadData = {
    upstream: options.upstream.href,
    host: options.host,
    port: options.port,
    maxRecordBytes: options.maxRecordBytes,
    mappings: { ...options.mappings },
    maxQueued: options.maxQueued,
  };
  const worker = new Worker(WORKER_SCRIPT, { workerData: data });
  const tell = (message: ToTapThread) => worker.postMessage(message);
  const report = (counts: TapCounts) => {
    for (const [outcome, n] of Object.entries(counts.outcomes)) options.count(outcome as TapOutcome, n);
    for (const [reason, n] of Object.entries(counts.dropped)) options.dropped(n, reason as DropReason);
  };
  let closed: (() => void) | undefined;
  let closing = false;
  let exited = false;
  const listening = new Promise<number>((resolve, reject) => {
    worker.on("message", (message: FromTapThread) => {
      switch (message.kind) {
        case "listening":
          resolve(message.port);
          return;
        case "failed":
          reject(new Error(message.message));
          return;
        case "batch":
          options.write(message.batch, message.predictions).then(
            () => tell({ kind: "written", id: message.id, ok: true }),
            () => tell({ kind: "written", id: message.id, ok: false }),
          );
          return;
        case "counts":
          report(message.counts);
          return;
        case "closed":
          report(message.counts);
          closed?.();
      }
    });
    worker.on("error", (err) => {
      reject(err);
      if (!closing) options.onError(err);
    });
    worker.on("exit", (code) => {
      exited = true;
      reject(new Error(`the tap's thread exited with code ${code}`));
      closed?.();
    });
  });
  const port = await listening;
  return {
    port,
    close: async () => {
      closing = true;
      // A thread that already died has nothing left to flush.
      if (!exited)
        await new Promise<void>((resolve) => {
          closed = resolve;
          tell({ kind: "close" });
        });
      await worker.terminate();
    },
  };
}

const WORKER_SCRIPT = workerScript(
  new URL("./thread-worker.js", import.meta.url),
  new URL("../../dist/collector/tap/thread-worker.js", import.meta.url),
);
