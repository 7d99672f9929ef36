import { Attributes, type AttrValue, MAX_VALUE_DEPTH, type RecordSink } from "../record-sink.js";

/** An OTLP/JSON body that does not follow the protobuf JSON mapping; the message names the path. */
export class JsonShapeError extends Error {
  override readonly name = "JsonShapeError";
}

type Json = unknown;
type Obj = Record<string, Json>;

/** Decodes an OTLP/JSON ExportLogsServiceRequest (already parsed) into the sink. Throws JsonShapeError. */
export function decodeLogsJson(body: Json, sink: RecordSink): void {
  forEachScopeItem(body, "resourceLogs", "scopeLogs", "logRecords", (item, resource, path) => {
    sink.beginRecord(resource);
    recordAttributes(item.attributes, `${path}.attributes`, sink);
    sink.endRecord({
      timeMs: nanosToMs(item.timeUnixNano, `${path}.timeUnixNano`),
      observedTimeMs: nanosToMs(item.observedTimeUnixNano, `${path}.observedTimeUnixNano`),
      eventName: optionalString(item.eventName, `${path}.eventName`),
      traceId: hexId(item.traceId, `${path}.traceId`),
      spanId: hexId(item.spanId, `${path}.spanId`),
      durationMs: null,
    });
  });
}

/** Decodes an OTLP/JSON ExportTraceServiceRequest (already parsed) into the sink. Throws JsonShapeError. */
export function decodeTracesJson(body: Json, sink: RecordSink): void {
  forEachScopeItem(body, "resourceSpans", "scopeSpans", "spans", (item, resource, path) => {
    const startMs = nanosToMs(item.startTimeUnixNano, `${path}.startTimeUnixNano`);
    const endMs = nanosToMs(item.endTimeUnixNano, `${path}.endTimeUnixNano`);
    sink.beginRecord(resource);
    recordAttributes(item.attributes, `${path}.attributes`, sink);
    sink.endRecord({
      timeMs: startMs,
      observedTimeMs: 0,
      eventName: "",
      traceId: hexId(item.traceId, `${path}.traceId`),
      spanId: hexId(item.spanId, `${path}.spanId`),
      durationMs: startMs > 0 && endMs >= startMs ? endMs - startMs : null,
    });
  });
}

function recordAttributes(value: Json, path: string, sink: RecordSink): void {
  const attrs = readAttributes(value, path, 0);
  for (let i = 0; i < attrs.keys.length; i++)
    sink.attribute(attrs.keys[i] as string, attrs.values[i] as AttrValue);
}

function forEachScopeItem(
  body: Json,
  resourceKey: string,
  scopeKey: string,
  itemKey: string,
  visit: (item: Obj, resource: Attributes, path: string) => void,
): void {
  const root = object(body, "body");
  array(root[resourceKey], resourceKey).forEach((rv, i) => {
    const rPath = `${resourceKey}[${i}]`;
    const r = object(rv, rPath);
    const resource =
      r.resource === undefined
        ? Attributes.EMPTY
        : readAttributes(
            object(r.resource, `${rPath}.resource`).attributes,
            `${rPath}.resource.attributes`,
            0,
          );
    array(r[scopeKey], `${rPath}.${scopeKey}`).forEach((sv, j) => {
      const sPath = `${rPath}.${scopeKey}[${j}]`;
      const s = object(sv, sPath);
      array(s[itemKey], `${sPath}.${itemKey}`).forEach((iv, k) => {
        const path = `${sPath}.${itemKey}[${k}]`;
        visit(object(iv, path), resource, path);
      });
    });
  });
}

function readAttributes(value: Json, path: string, depth: number): Attributes {
  const attrs = new Attributes();
  array(value, path).forEach((kv, i) => {
    const p = `${path}[${i}]`;
    const o = object(kv, p);
    if (typeof o.key !== "string") throw new JsonShapeError(`${p}.key must be a string`);
    attrs.add(
      o.key,
      o.value === undefined || o.value === null ? null : anyValue(o.value, `${p}.value`, depth),
    );
  });
  return attrs;
}

function anyValue(value: Json, path: string, depth: number): AttrValue {
  if (depth > MAX_VALUE_DEPTH)
    throw new JsonShapeError(`${path}: values nested deeper than ${MAX_VALUE_DEPTH}`);
  const o = object(value, path);
  if ("stringValue" in o) {
    if (typeof o.stringValue !== "string") throw new JsonShapeError(`${path}.stringValue must be a string`);
    return o.stringValue;
  }
  if ("doubleValue" in o) return jsonNumber(o.doubleValue, `${path}.doubleValue`);
  if ("intValue" in o) {
    const n = jsonNumber(o.intValue, `${path}.intValue`);
    if (!Number.isInteger(n)) throw new JsonShapeError(`${path}.intValue must be an integer`);
    return n;
  }
  if ("boolValue" in o) {
    if (typeof o.boolValue !== "boolean") throw new JsonShapeError(`${path}.boolValue must be true or false`);
    return o.boolValue;
  }
  if ("arrayValue" in o) {
    const values = object(o.arrayValue, `${path}.arrayValue`).values ?? [];
    return array(values, `${path}.arrayValue.values`).map((v, i) =>
      anyValue(v, `${path}.arrayValue.values[${i}]`, depth + 1),
    );
  }
  if ("kvlistValue" in o) {
    const values = object(o.kvlistValue, `${path}.kvlistValue`).values ?? [];
    return readAttributes(values, `${path}.kvlistValue.values`, depth + 1);
  }
  if ("bytesValue" in o) {
    if (typeof o.bytesValue !== "string") throw new JsonShapeError(`${path}.bytesValue must be base64 text`);
    return new Uint8Array(Buffer.from(o.bytesValue, "base64"));
  }
  return null;
}

/** proto3 JSON numbers: a number, or a string holding one (int64 and the special doubles "NaN", "Infinity"). */
function jsonNumber(value: Json, path: string): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "") {
    const n = Number(value);
    if (!Number.isNaN(n) || value === "NaN") return n;
  }
  throw new JsonShapeError(`${path} must be a number`);
}

function nanosToMs(value: Json, path: string): number {
  if (value === undefined || value === null) return 0;
  // int64 nanoseconds usually arrive as a decimal string: cut the last six digits rather than divide a
  // number that has already lost precision.
  if (typeof value === "string" && /^\d+$/.test(value))
    return value.length <= 6 ? 0 : Number(value.slice(0, -6));
  const n = jsonNumber(value, path);
  if (!Number.isFinite(n) || n < 0)
    throw new JsonShapeError(`${path} must be a non-negative integer of nanoseconds`);
  return Math.floor(n / 1e6);
}

/** OTLP/JSON carries trace and span ids as hex (not base64, unlike the generic protobuf mapping). */
function hexId(value: Json, path: string): string {
  if (value === undefined || value === null || value === "") return "";
  if (typeof value !== "string" || !/^[0-9a-fA-F]+$/.test(value) || value.length % 2 !== 0) {
    throw new JsonShapeError(`${path} must be a hex string`);
  }
  return value.toLowerCase();
}

function optionalString(value: Json, path: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new JsonShapeError(`${path} must be a string`);
  return value;
}

function object(value: Json, path: string): Obj {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new JsonShapeError(`${path} must be an object`);
  }
  return value as Obj;
}

function array(value: Json, path: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new JsonShapeError(`${path} must be an array`);
  return value;
}
