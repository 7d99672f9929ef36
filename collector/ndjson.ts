import { Attributes, type AttrValue, MAX_VALUE_DEPTH, type RawRecord } from "./otlp/record.js";

/** A line of an NDJSON body that could not be read as an event. */
export interface LineError {
  line: number;
  message: string;
}

export interface NdjsonDecoded {
  records: RawRecord[];
  /** The 1-based line number of each record, for error messages. */
  lines: number[];
  errors: LineError[];
}

/**
 * Reads `POST /v1/events` bodies: one JSON object per line, with the same attribute names as the OTLP
 * contract (`"ml.model.name": "churn"`), plus `event` (ml.prediction or ml.label) and `time` (epoch ms or
 * an ISO 8601 string). Nested objects become kvlists (`"ml.features": {"age": 41}`).
 */
export function decodeNdjson(text: string): NdjsonDecoded {
  const out: NdjsonDecoded = { records: [], lines: [], errors: [] };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "") continue;
    const lineNo = i + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      out.errors.push({ line: lineNo, message: `not valid JSON (${(err as Error).message})` });
      continue;
    }
    const record = toRecord(parsed);
    if (typeof record === "string") out.errors.push({ line: lineNo, message: record });
    else {
      out.records.push(record);
      out.lines.push(lineNo);
    }
  }
  return out;
}

function toRecord(value: unknown): RawRecord | string {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return "each line must be a JSON object";
  const attributes = new Attributes();
  let eventName = "";
  let timeMs = 0;
  for (const [key, v] of Object.entries(value)) {
    if (key === "event" || key === "event.name") {
      if (typeof v !== "string") return `${key} must be a string`;
      eventName = v;
    } else if (key === "time") {
      const t = parseTime(v);
      if (t === undefined) return "time must be epoch milliseconds or an ISO 8601 string";
      timeMs = t;
    } else {
      const converted = toAttr(v, 0);
      if (converted === undefined) return `${key} has a value that cannot be an attribute`;
      attributes.add(key, converted);
    }
  }
  return {
    timeMs,
    observedTimeMs: 0,
    eventName,
    traceId: "",
    spanId: "",
    durationMs: null,
    attributes,
    resource: Attributes.EMPTY,
  };
}

function toAttr(v: unknown, depth: number): AttrValue | undefined {
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (depth >= MAX_VALUE_DEPTH) return undefined;
  if (Array.isArray(v)) {
    const items: AttrValue[] = [];
    for (const item of v) {
      const a = toAttr(item, depth + 1);
      if (a === undefined) return undefined;
      items.push(a);
    }
    return items;
  }
  if (typeof v === "object") {
    const kv = new Attributes();
    for (const [k, item] of Object.entries(v)) {
      const a = toAttr(item, depth + 1);
      if (a === undefined) return undefined;
      kv.add(k, a);
    }
    return kv;
  }
  return undefined;
}

function parseTime(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v;
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}
