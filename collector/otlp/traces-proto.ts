import { type Attributes, emptyMeta, type RecordSink } from "../record-sink.js";
import { readExportRequest, readRecordAttribute } from "./common-proto.js";
import type { WireReader } from "./wire.js";

/** One RecordMeta filled per record in turn: sinks read it during endRecord and keep nothing of it. */
const _reusedMeta = emptyMeta();

// Field numbers from opentelemetry-proto v1.x: collector/trace/v1/trace_service.proto and trace/v1/trace.proto.

/** Decodes an ExportTraceServiceRequest body into the sink, one record per span. Throws WireError. */
export function decodeTracesRequest(body: Uint8Array, sink: RecordSink): void {
  readExportRequest(body, sink, readSpan);
}

function readSpan(r: WireReader, resource: Attributes, sink: RecordSink): void {
  const end = r.enter();
  const meta = emptyMeta();
  let startMs = 0;
  let endMs = 0;
  sink.beginRecord(resource);
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case 0x0a: // 1: trace_id
        meta.traceId = r.hex();
        break;
      case 0x12: // 2: span_id
        meta.spanId = r.hex();
        break;
      case 0x39: // 7: start_time_unix_nano
        startMs = r.fixed64NanosAsMs();
        break;
      case 0x41: // 8: end_time_unix_nano
        endMs = r.fixed64NanosAsMs();
        break;
      case 0x4a: // 9: attributes
        readRecordAttribute(r, sink);
        break;
      default:
        r.skip(tag & 7);
    }
  }
  r.leave(end, "Span");
  meta.timeMs = startMs;
  if (startMs > 0 && endMs >= startMs) meta.durationMs = endMs - startMs;
  sink.endRecord(meta);
}
