import { Attributes, emptyMeta, type RecordSink } from "../record-sink.js";
import { readAttributes, readRecordAttribute } from "./common-proto.js";
import { WireReader } from "./wire.js";

/** One RecordMeta filled per record in turn: sinks read it during endRecord and keep nothing of it. */
const _reusedMeta = emptyMeta();

// Field numbers from opentelemetry-proto v1.x: collector/trace/v1/trace_service.proto and trace/v1/trace.proto.

/** Decodes an ExportTraceServiceRequest body into the sink, one record per span. Throws WireError. */
export function decodeTracesRequest(body: Uint8Array, sink: RecordSink): void {
  const r = new WireReader(body);
  while (!r.done) {
    const tag = r.tag();
    if (tag === 0x0a)
      readResourceSpans(r, sink); // 1: resource_spans
    else r.skip(tag & 7);
  }
}

function readResourceSpans(r: WireReader, sink: RecordSink): void {
  const end = r.enter();
  let resource = Attributes.EMPTY;
  const scopes: Array<[number, number]> = [];
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a)
      resource = readAttributes(r, 0); // 1: resource
    else if (tag === 0x12)
      scopes.push(r.lengthDelimited()); // 2: scope_spans
    else r.skip(tag & 7);
  }
  r.leave(end, "ResourceSpans");
  for (const [start, scopeEnd] of scopes) {
    const scope = new WireReader(r.buf, start, scopeEnd);
    while (!scope.done) {
      const tag = scope.tag();
      if (tag === 0x12)
        readSpan(scope, resource, sink); // 2: spans
      else scope.skip(tag & 7);
    }
  }
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
