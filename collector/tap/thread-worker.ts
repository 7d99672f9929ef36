/**
 * The tap's thread (see thread.ts): the proxy and its recorder, which hands each batch to the thread that
 * started it and waits for its write. Run by `new Worker(...)`, never imported.
 */
import { parentPort, workerData } from "node:worker_threads";
import { describeThisThread } from "../../common/index.js";
import { encodeCallBatch } from "../inference/call-batch.js";
import { type RunningTap, startTap } from "./proxy.js";
import { TapRecorder } from "./recorder.js";
import type { FromTapThread, TapCounts, TapThreadData, ToTapThread } from "./thread-protocol.js";

const port = parentPort;
if (!port) throw new Error("the tap's thread runs as a worker thread");
/**
 * Above the default priority where the process may raise it (CAP_SYS_NICE, which root has outside a
 * container, or an RLIMIT_NICE that allows it): the proxy stands in every call's path and uses little CPU
 * (~80 µs a call), while what shares its cores (the model server's own compute, the recording) can wait.
 * With two busy processes beside bench:tap, p99 added 4.8–5.1 ms against 6.7–8.5 at the default, in four
 * pairs; on idle cores it changed nothing (measured).
 */
const TAP_NICE = -5;
describeThisThread("mw-tap", TAP_NICE);
const data = workerData as TapThreadData;

/** How long counts gather before they are reported (they are also reported on closing). */
const COUNTS_DELAY_MS = 50;

const send = (message: FromTapThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
let counts: TapCounts = { outcomes: {}, dropped: {} };
let reporting: NodeJS.Timeout | undefined;
const takeCounts = (): TapCounts => {
  clearTimeout(reporting);
  reporting = undefined;
  const taken = counts;
  counts = { outcomes: {}, dropped: {} };
  return taken;
};
/** Counts `n` more; reported together with what else is counted within COUNTS_DELAY_MS. */
const count = (kind: "outcomes" | "dropped", key: string, n: number) => {
  const of = counts[kind] as Record<string, number>;
  of[key] = (of[key] ?? 0) + n;
  reporting ??= setTimeout(() => send({ kind: "counts", counts: takeCounts() }), COUNTS_DELAY_MS);
};

let nextId = 0;
const writes = new Map<number, (ok: boolean) => void>();
const recorder = new TapRecorder(
  async (calls, predictions) => {
    const batch = encodeCallBatch(calls, data.mappings);
    const id = nextId++;
    const ok = await new Promise<boolean>((resolve) => {
      writes.set(id, resolve);
      send({ kind: "batch", id, batch, predictions }, [batch.buffer as ArrayBuffer]);
    });
    if (!ok) throw new Error("the write failed");
  },
  data.maxQueued,
  (n, reason) => count("dropped", reason, n),
);

let tap: RunningTap;
try {
  tap = await startTap({
    upstream: new URL(data.upstream),
    host: data.host,
    port: data.port,
    maxRecordBytes: data.maxRecordBytes,
    record: (call, predictions) => recorder.add(call, predictions),
    count: (outcome) => count("outcomes", outcome, 1),
  });
} catch (err) {
  send({ kind: "failed", message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}
port.on("message", async (message: ToTapThread) => {
  if (message.kind === "written") {
    writes.get(message.id)?.(message.ok);
    writes.delete(message.id);
    return;
  }
  await tap.close();
  await recorder.flush();
  send({ kind: "closed", counts: takeCounts() });
});
send({ kind: "listening", port: tap.port });
