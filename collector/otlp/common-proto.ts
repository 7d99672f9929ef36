import { Attributes, type AttrValue, MAX_VALUE_DEPTH, type RecordSink } from "../record-sink.js";
import { WireError, type WireReader } from "./wire.js";

// Field numbers from opentelemetry-proto v1.x, opentelemetry/proto/common/v1/common.proto.
// A tag is (field number << 3) | wire type; the cases below name each field.

/** Reads one of a record's KeyValues (the reader on its length prefix) and hands it to the sink. */
export function readRecordAttribute(r: WireReader, sink: RecordSink): void {
  const end = r.enter();
  let key = "";
  let value: AttrValue = null;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag === 0x0a)
      key = r.string(); // 1: key
    else if (tag === 0x12)
      value = readAnyValue(r, 0); // 2: value
    else r.skip(tag & 7);
  }
  r.leave(end, "KeyValue");
  sink.attribute(key, value);
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
