import { Attributes, type AttrValue, MAX_VALUE_DEPTH, type RecordSink } from "../record-sink.js";
import { WireError, WireReader } from "./wire.js";

// Field numbers from opentelemetry-proto v1.x, opentelemetry/proto/common/v1/common.proto.
// A tag is (field number << 3) | wire type; the cases below name each field.

/**
 * Reads one of a record's KeyValues and hands it to the sink. A plain double (most of an event's
 * attributes) goes to `numberAttribute` and is never boxed into a generic value.
 */
export function readRecordAttribute(r: WireReader, sink: RecordSink): void {
  const end = r.enter();
  let key = "";
  let value: AttrValue = null;
  let number = 0;
  let isNumber = false;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a)
      key = r.string(); // 1: key
    else if (tag === 0x12) {
      // 2: value. AnyValue { double_value (4, fixed64) } is 9 bytes: tag 0x21 and the double.
      if (r.buf[r.pos] === 9 && r.buf[r.pos + 1] === 0x21 && r.pos + 10 <= end) {
        r.pos += 2;
        number = r.double();
        isNumber = true;
        value = null;
      } else {
        value = readAnyValue(r, 0);
        isNumber = false;
      }
    } else r.skip(tag & 7);
  }
  r.leave(end, "KeyValue");
  if (isNumber) sink.numberAttribute(key, number);
  else sink.attribute(key, value);
}

/** Reads one KeyValue (the reader on its length prefix) into `into`. */
function readKeyValue(r: WireReader, into: Attributes, depth: number): void {
  const end = r.enter();
  let key = "";
  let value: AttrValue = null;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a)
      key = r.string(); // 1: key
    else if (tag === 0x12)
      value = readAnyValue(r, depth); // 2: value
    else r.skip(tag & 7);
  }
  r.leave(end, "KeyValue");
  into.add(key, value);
}

/**
 * Walks an Export{Logs,Trace}ServiceRequest: both nest items the same way (request → resource_* (1) →
 * resource (1) and scope_* (2) → items (2)), so one walk serves both; `readItem` reads one log record or
 * span. Scopes are read once their resource is known, whatever the field order.
 */
export function readExportRequest(
  body: Uint8Array,
  sink: RecordSink,
  readItem: (r: WireReader, resource: Attributes, sink: RecordSink) => void,
): void {
  const r = new WireReader(body);
  while (!r.done) {
    const tag = r.tag();
    if (tag !== 0x0a) {
      r.skip(tag & 7);
      continue;
    }
    const end = r.enter();
    let resource = Attributes.EMPTY;
    const scopes: Array<[number, number]> = [];
    while (r.pos < end) {
      const field = r.tag();
      if (field === 0x0a) resource = readAttributes(r, 0);
      else if (field === 0x12) scopes.push(r.lengthDelimited());
      else r.skip(field & 7);
    }
    r.leave(end, "resource entry");
    for (const [start, scopeEnd] of scopes) {
      const scope = new WireReader(r.buf, start, scopeEnd);
      while (!scope.done) {
        const field = scope.tag();
        if (field === 0x12) readItem(scope, resource, sink);
        else scope.skip(field & 7);
      }
    }
  }
}

/** Reads an AnyValue (the reader on its length prefix). */
function readAnyValue(r: WireReader, depth: number): AttrValue {
  if (depth > MAX_VALUE_DEPTH) throw new WireError(`attribute values nested deeper than ${MAX_VALUE_DEPTH}`);
  const end = r.enter();
  let value: AttrValue = null;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag) {
      case 0x0a: // 1: string_value
        value = r.string();
        break;
      case 0x10: // 2: bool_value
        value = r.varint32() !== 0;
        break;
      case 0x18: // 3: int_value
        value = r.int64();
        break;
      case 0x21: // 4: double_value
        value = r.double();
        break;
      case 0x2a: // 5: array_value
        value = readArray(r, depth + 1);
        break;
      case 0x32: // 6: kvlist_value
        value = readAttributes(r, depth + 1);
        break;
      case 0x3a: {
        // 7: bytes_value
        const [s, e] = r.lengthDelimited();
        value = r.buf.slice(s, e);
        break;
      }
      default:
        r.skip(tag & 7);
    }
  }
  r.leave(end, "AnyValue");
  return value;
}

/** ArrayValue { repeated AnyValue values = 1 }. */
function readArray(r: WireReader, depth: number): AttrValue[] {
  const end = r.enter();
  const values: AttrValue[] = [];
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a) values.push(readAnyValue(r, depth));
    else r.skip(tag & 7);
  }
  r.leave(end, "ArrayValue");
  return values;
}

/**
 * A message whose field 1 is `repeated KeyValue`: KeyValueList, and Resource (whose other fields are
 * skipped).
 */
export function readAttributes(r: WireReader, depth: number): Attributes {
  const end = r.enter();
  const attrs = new Attributes();
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a) readKeyValue(r, attrs, depth);
    else r.skip(tag & 7);
  }
  r.leave(end, "attribute list");
  return attrs;
}
