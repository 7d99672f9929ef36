import { Attributes, emptyMeta, type RecordSink, resetMeta } from "../record-sink.js";
import { readAttributes, readRecordAttribute } from "./common-proto.js";
import { WireReader } from "./wire.js";

/** One RecordMeta filled per record in turn: sinks read it during endRecord and keep nothing of it. */
const reusedMeta = emptyMeta();

// Field numbers from opentelemetry-proto v1.x: collector/logs/v1/logs_service.proto and logs/v1/logs.proto.

/** Decodes an ExportLogsServiceRequest body into the sink, record by record. Throws WireError. */
export function decodeLogsRequest(body: Uint8Array, sink: RecordSink): void {
  const r = new WireReader(body);
  while (!r.done) {
    const tag = r.tag();
    if (tag === 0x0a)
      readResourceLogs(r, sink); // 1: resource_logs
    else r.skip(tag & 7);
  }
}

function readResourceLogs(r: WireReader, sink: RecordSink): void {
  const end = r.enter();
  let resource = Attributes.EMPTY;
  const scopes: Array<[number, number]> = [];
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a)
      resource = readAttributes(r, 0); // 1: resource
    else if (tag === 0x12)
      scopes.push(r.lengthDelimited()); // 2: scope_logs, read once the resource is known
    else r.skip(tag & 7);
  }
  r.leave(end, "ResourceLogs");
  for (const [start, scopeEnd] of scopes) {
    const scope = new WireReader(r.buf, start, scopeEnd);
    while (!scope.done) {
      const tag = scope.tag();
      if (tag === 0x12)
        readLogRecord(scope, resource, sink); // 2: log_records
      else scope.skip(tag & 7);
    }
  }
}

function readLogRecord(r: WireReader, resource: Attributes, sink: RecordSink): void {
  const end = r.enter();
  const meta = resetMeta(reusedMeta);
  sink.beginRecord(resource);
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case 0x09: // 1: time_unix_nano
        meta.timeMs = r.fixed64NanosAsMs();
        break;
      case 0x59: // 11: observed_time_unix_nano
        meta.observedTimeMs = r.fixed64NanosAsMs();
        break;
      case 0x32: // 6: attributes
        readRecordAttribute(r, sink);
        break;
      case 0x4a: // 9: trace_id
        meta.traceId = r.hex();
        break;
      case 0x52: // 10: span_id
        meta.spanId = r.hex();
        break;
      case 0x62: // 12: event_name
        meta.eventName = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  r.leave(end, "LogRecord");
  sink.endRecord(meta);
}
