/**
 * A decode thread: reads request bodies into rows off the event loop (see DecodePool). Run by
 * `new Worker(...)`, never imported.
 */
import { parentPort, workerData } from "node:worker_threads";
import { describeThisThread } from "../common/index.js";
import type { DecodeReply, DecodeTask, DecodeThreadData } from "./decode-protocol.js";
import { type ReadResult, readRequest } from "./read-request.js";

const port = parentPort;
if (!port) throw new Error("decode-worker runs as a worker thread");
const { limits, name, nice } = workerData as DecodeThreadData;
describeThisThread(name, nice);

port.on("message", (task: DecodeTask) => {
  let reply: DecodeReply;
  try {
    const result = readRequest(task.format, task.body, task.receivedAtMs, limits);
    reply = { id: task.id, result: result.ok ? ownRows(result) : result };
  } catch (err) {
    reply = { id: task.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply, "result" in reply && reply.result.ok ? transferables(reply.result) : []);
});

/**
 * Rows in buffers of their own, so they can be moved to the main thread instead of copied. Small buffers may
 * be slices of Node's shared allocation pool, which is marked untransferable (Node 20 then copies the whole
 * pool, later versions throw): those rows are copied on their own.
 */
function ownRows(result: Extract<ReadResult, { ok: true }>): ReadResult {
  return { ...result, predictionRows: own(result.predictionRows), labelRows: own(result.labelRows) };
}

function own(bytes: Uint8Array): Uint8Array {
  return bytes.buffer.byteLength > Buffer.poolSize ? bytes : new Uint8Array(bytes);
}

function transferables(result: Extract<ReadResult, { ok: true }>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const rows of [result.predictionRows, result.labelRows])
    if (rows.byteLength > 0) buffers.add(rows.buffer as ArrayBuffer);
  return [...buffers];
}
