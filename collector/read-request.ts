import { labelsRowBinary, type PredictionSource } from "../store/rows.js";
import { EventReader, type MappingLimits, type Rejection } from "./event-reader.js";
import { readCallBatch } from "./inference/call-batch.js";
import type { CallReport } from "./inference/captured-call.js";
import { decodeNdjson, type LineError } from "./ndjson.js";
import { decodeLogsJson, decodeTracesJson, JsonShapeError } from "./otlp/json.js";
import { decodeLogsRequest } from "./otlp/logs-proto.js";
import { decodeTracesRequest } from "./otlp/traces-proto.js";
import { WireError } from "./otlp/wire.js";
import type { RecordSink } from "./record-sink.js";

/** What a request body is, as its route and Content-Type say. */
export type RequestFormat =
  | "otlp-logs-protobuf"
  | "otlp-logs-json"
  | "otlp-traces-protobuf"
  | "otlp-traces-json"
  | "ndjson"
  /** Inference calls captured by modelwatch (the tap, KServe's logger), as call-batch.ts lays them out. */
  | "inference-calls";

/** A body read into rows, ready for the spool; only bytes and small facts, so it can cross threads. */
export interface ReadRows {
  ok: true;
  predictions: number;
  labels: number;
  /** RowBinary in the predictions / labels insert layouts. */
  predictionRows: Uint8Array;
  labelRows: Uint8Array;
  /** Records refused, each with its index among the records read. */
  rejections: Rejection[];
  /** Spans with no model attributes: neither stored nor errors. */
  ignored: number;
  /** NDJSON only: the line of each record read, and the lines that were not JSON objects. */
  lines: number[];
  lineErrors: LineError[];
  /** Captured calls only: what reading each came to. */
  calls?: CallReport;
}

/** A body that cannot be read at all; nothing of it is stored. */
export interface MalformedBody {
  ok: false;
  code: "malformed_protobuf" | "malformed_json" | "invalid_utf8" | "empty_body";
  message: string;
}

export type ReadResult = ReadRows | MalformedBody;

const SOURCES: Record<RequestFormat, PredictionSource> = {
  "otlp-logs-protobuf": "otlp-logs",
  "otlp-logs-json": "otlp-logs",
  "otlp-traces-protobuf": "otlp-traces",
  "otlp-traces-json": "otlp-traces",
  ndjson: "events",
  "inference-calls": "tap",
};

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes a body, reads its records as events and encodes the accepted ones as rows: all the CPU work of
 * ingest, synchronous and self-contained, so it runs the same on the event loop or on a decode thread.
 */
export function readRequest(
  format: RequestFormat,
  body: Uint8Array,
  receivedAtMs: number,
  limits: MappingLimits,
): ReadResult {
  const reader = new EventReader(SOURCES[format], limits, receivedAtMs, body.byteLength);
  let lines: number[] = [];
  let lineErrors: LineError[] = [];
  let calls: CallReport | undefined;
  try {
    if (format === "inference-calls") {
      calls = readCallBatch(body, reader);
    } else if (format === "ndjson") {
      const text = utf8.decode(body);
      if (text.trim() === "")
        return malformed("empty_body", "the body has no events: send one JSON object per line");
      ({ lines, errors: lineErrors } = decodeNdjson(text, reader));
    } else {
      decoders[format](body, reader);
    }
  } catch (err) {
    return readError(err);
  }
  const { predictions, labels } = reader;
  return {
    ok: true,
    predictions: predictions.length,
    labels: labels.length,
    predictionRows: predictions.length ? predictions.bytes() : EMPTY,
    labelRows: labels.length ? labelsRowBinary(labels) : EMPTY,
    rejections: reader.rejections,
    ignored: reader.ignored,
    lines,
    lineErrors,
    calls,
  };
}

const decoders: Record<
  Exclude<RequestFormat, "ndjson" | "inference-calls">,
  (body: Uint8Array, sink: RecordSink) => void
> = {
  "otlp-logs-protobuf": decodeLogsRequest,
  "otlp-logs-json": (body, sink) => decodeLogsJson(JSON.parse(utf8.decode(body)), sink),
  "otlp-traces-protobuf": decodeTracesRequest,
  "otlp-traces-json": (body, sink) => decodeTracesJson(JSON.parse(utf8.decode(body)), sink),
};

/** A decoder's failure, as what the sender should fix; anything else is a bug and is thrown on. */
function readError(err: unknown): MalformedBody {
  if (err instanceof WireError) return malformed("malformed_protobuf", `malformed protobuf: ${err.message}`);
  if (err instanceof JsonShapeError)
    return malformed("malformed_json", `malformed OTLP/JSON: ${err.message}`);
  if (err instanceof SyntaxError) return malformed("malformed_json", `the body is not JSON: ${err.message}`);
  if (err instanceof TypeError && (err as { code?: string }).code === "ERR_ENCODING_INVALID_ENCODED_DATA")
    return malformed("invalid_utf8", "the body is not valid UTF-8");
  throw err;
}

function malformed(code: MalformedBody["code"], message: string): MalformedBody {
  return { ok: false, code, message };
}
