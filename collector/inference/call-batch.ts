import type { RecordSink } from "../record-sink.js";
import { type Body, type CallReport, type CapturedCall, emptyCallReport, readCall } from "./captured-call.js";
import type { ModelMapping } from "./payload.js";

/**
 * Captured calls as one body, so a batch crosses to a decode thread in one message (its buffer moved, not
 * copied): a little-endian u32 header length, the header as JSON (each call's facts and body sizes, the
 * mappings of the models named), then every call's request and response bytes in order.
 */
interface BatchHeader {
  mappings: Record<string, ModelMapping>;
  calls: Array<Omit<CapturedCall, "request" | "response"> & { requestBytes: number; responseBytes: number }>;
}

export function encodeCallBatch(
  calls: readonly CapturedCall[],
  mappings: Readonly<Record<string, ModelMapping>>,
): Uint8Array {
  const header: BatchHeader = { mappings: {}, calls: [] };
  const bodies: Uint8Array[] = [];
  for (const { request, response, ...facts } of calls) {
    const mapping = mappings[facts.model];
    if (mapping) header.mappings[facts.model] = mapping;
    header.calls.push({
      ...facts,
      requestBytes: pushed(bodies, request),
      responseBytes: pushed(bodies, response),
    });
  }
  const head = Buffer.from(JSON.stringify(header));
  const size = bodies.reduce((sum, b) => sum + b.byteLength, 4 + head.length);
  // Its own allocation (never a slice of Node's shared pool), so it can be moved to another thread.
  const out = Buffer.from(new ArrayBuffer(size));
  out.writeUInt32LE(head.length, 0);
  let at = 4 + head.copy(out, 4);
  for (const b of bodies) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}

/** Reads every call of a batch into the sink (readCall), reporting what each came to. */
export function readCallBatch(batch: Uint8Array, sink: RecordSink): CallReport {
  const bytes = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength);
  const headLength = bytes.readUInt32LE(0);
  const header = JSON.parse(bytes.toString("utf8", 4, 4 + headLength)) as BatchHeader;
  const report = emptyCallReport();
  let at = 4 + headLength;
  header.calls.forEach(({ requestBytes, responseBytes, ...facts }, index) => {
    const request = bytes.subarray(at, at + requestBytes);
    const response = bytes.subarray(at + requestBytes, at + requestBytes + responseBytes);
    at += requestBytes + responseBytes;
    const reading = readCall({ ...facts, request, response }, header.mappings[facts.model] ?? {}, sink);
    if (reading.outcome === "recorded") report.recorded++;
    else if (reading.outcome === "passed_through") report.passedThrough++;
    else report.unreadable.push({ index, message: reading.message });
  });
  return report;
}

/** Adds a body's bytes to the list; their count. */
function pushed(bodies: Uint8Array[], body: Body): number {
  if (body instanceof Uint8Array) {
    bodies.push(body);
    return body.byteLength;
  }
  let n = 0;
  for (const chunk of body) {
    bodies.push(chunk);
    n += chunk.byteLength;
  }
  return n;
}
