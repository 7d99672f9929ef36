import { readAttributes, readKeyValue } from "./common-proto.js";
import { Attributes, type RawRecord } from "./record.js";
import { WireReader } from "./wire.js";

// Field numbers from opentelemetry-proto v1.x: collector/logs/v1/logs_service.proto and logs/v1/logs.proto.

/** Decodes an ExportLogsServiceRequest body into records. Throws WireError on a malformed body. */
export function decodeLogsRequest(body: Uint8Array): RawRecord[] {
  const r = new WireReader(body);
  const records: RawRecord[] = [];
  while (!r.done) {
    const tag = r.tag();
    if (tag === 0x0a)
      readResourceLogs(r, records); // 1: resource_logs
    else r.skip(tag & 7);
  }
  return records;
}

function readResourceLogs(r: WireReader, out: RawRecord[]): void {
  const end = r.enter();
  let resource = Attributes.EMPTY;
  const scopes: Array<[number, number]> = [];
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a)
      resource = readAttributes(r, 0); // 1: resource
    else if (tag === 0x12)
      scopes.push(r.lengthDelimited()); // 2: scope_logs (read once the resource is known)
    else r.skip(tag & 7);
  }
  r.leave(end, "ResourceLogs");
  for (const [start, scopeEnd] of scopes) {
    const scope = new WireReader(r.buf, start, scopeEnd);
    while (!scope.done) {
      const tag = scope.tag();
      if (tag === 0x12)
        out.push(readLogRecord(scope, resource)); // 2: log_records
      else scope.skip(tag & 7);
    }
  }
}

function readLogRecord(r: WireReader, resource: Attributes): RawRecord {
  const end = r.enter();
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
      case 0x09: // 1: time_unix_nano
        record.timeMs = r.fixed64NanosAsMs();
        break;
      case 0x59: // 11: observed_time_unix_nano
        record.observedTimeMs = r.fixed64NanosAsMs();
        break;
      case 0x32: // 6: attributes
        readKeyValue(r, record.attributes, 0);
        break;
      case 0x4a: // 9: trace_id
        record.traceId = r.hex();
        break;
      case 0x52: // 10: span_id
        record.spanId = r.hex();
        break;
      case 0x62: // 12: event_name
        record.eventName = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  r.leave(end, "LogRecord");
  return record;
}
