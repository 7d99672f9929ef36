import { type Attributes, emptyMeta, type RecordSink, resetMeta } from "../record-sink.js";
import { readExportRequest, readRecordAttribute } from "./common-proto.js";
import type { WireReader } from "./wire.js";

/** One RecordMeta filled per record in turn: sinks read it during endRecord and keep nothing of it. */
const reusedMeta = emptyMeta();

// Field numbers from opentelemetry-proto v1.x: collector/logs/v1/logs_service.proto and logs/v1/logs.proto.

/** Decodes an ExportLogsServiceRequest body into the sink, record by record. Throws WireError. */
export function decodeLogsRequest(body: Uint8Array, sink: RecordSink): void {
  readExportRequest(body, sink, readLogRecord);
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
