import { readAttributes, readKeyValue } from "./common-proto.js";
import { Attributes, type RawRecord } from "./record.js";
import { WireReader } from "./wire.js";

// Field numbers from opentelemetry-proto v1.x: collector/trace/v1/trace_service.proto and trace/v1/trace.proto.

/** Decodes an ExportTraceServiceRequest body into records, one per span. Throws WireError. */
export function decodeTracesRequest(body: Uint8Array): RawRecord[] {
  const r = new WireReader(body);
  const records: RawRecord[] = [];
  while (!r.done) {
    const tag = r.tag();
    if (tag === 0x0a)
      readResourceSpans(r, records); // 1: resource_spans
    else r.skip(tag & 7);
  }
  return records;
}

function readResourceSpans(r: WireReader, out: RawRecord[]): void {
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
        out.push(readSpan(scope, resource)); // 2: spans
      else scope.skip(tag & 7);
    }
  }
}

function readSpan(r: WireReader, resource: Attributes): RawRecord {
  const end = r.enter();
  let startMs = 0;
  let endMs = 0;
  const record: RawRecord = {
    timeMs: 0,
    observedTimeMs: 0,
    eventName: "",
    traceId: "",
    spanId: "",
    durationMs: null,
    attributes: new Attributes(),
    resource,
  };
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case 0x0a: // 1: trace_id
        record.traceId = r.hex();
        break;
      case 0x12: // 2: span_id
        record.spanId = r.hex();
        break;
      case 0x39: // 7: start_time_unix_nano
        startMs = r.fixed64NanosAsMs();
        break;
      case 0x41: // 8: end_time_unix_nano
        endMs = r.fixed64NanosAsMs();
        break;
      case 0x4a: // 9: attributes
        readKeyValue(r, record.attributes, 0);
        break;
      default:
        r.skip(tag & 7);
    }
  }
  r.leave(end, "Span");
  record.timeMs = startMs;
  if (startMs > 0 && endMs >= startMs) record.durationMs = endMs - startMs;
  return record;
}
