import { randomUUID } from "node:crypto";
import { PREDICTION_EVENT } from "../event-reader.js";
import { Attributes, emptyMeta, type RecordSink } from "../record-sink.js";
import { readInferences } from "./pair.js";
import { type InferenceRecord, type ModelMapping, PayloadError } from "./payload.js";
import { readTorchServe } from "./torchserve.js";

/** A body as it arrived: whole, or in the chunks it came in (joined only when read). */
export type Body = Uint8Array | readonly Uint8Array[];

/**
 * One inference call as it passed a capture point (the tap, KServe's payload logger): the raw request and
 * answer, with what the capture point knew of them. Reading it (JSON, the payload's shape, one prediction per
 * instance) is left to whoever takes it, so the capture point, which answers clients, does not pay for it.
 */
export interface CapturedCall {
  /** How the bodies are read: TorchServe's own rules, or v1 / v2 (which tell themselves apart). */
  reader: "inference" | "torchserve";
  model: string;
  /** The version the route named; empty to take the one the answer names (v2), if any. */
  version: string;
  /**
   * The instances' prediction ids are made from this (freshIds): the id itself for one instance, <id>-<i> for
   * several; a random base when unset.
   */
  idBase?: string;
  /**
   * How many instances the capture point named ids for from `idBase` (the tap, in its answer, before the
   * call is read). When the bodies read as another number, those ids do not fit: fresh ones are made.
   */
  instances?: number;
  /** Event time, epoch ms. */
  timeMs: number;
  latencyMs?: number;
  segments?: Readonly<Record<string, string>>;
  request: Body;
  response: Body;
}

/** What reading a call came to: its predictions sent to the sink, or why there are none. */
export type CallReading =
  | { outcome: "recorded"; predictions: number }
  | { outcome: "passed_through" | "unreadable_payload"; message: string };

/** What reading a batch of calls came to, by outcome; the unreadable ones with their reasons. */
export interface CallReport {
  recorded: number;
  passedThrough: number;
  unreadable: Array<{ index: number; message: string }>;
}

export function emptyCallReport(): CallReport {
  return { recorded: 0, passedThrough: 0, unreadable: [] };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a call's bodies as inferences and sends each to the sink as an `ml.prediction` record, in the event
 * contract's names (the sink, an EventReader, applies the contract's checks and limits as to any other
 * record). TorchServe bodies that are not JSON (images, text) are passed through; anything else unreadable
 * is reported with the reason.
 */
export function readCall(call: CapturedCall, mapping: ModelMapping, sink: RecordSink): CallReading {
  let records: InferenceRecord[];
  let version = call.version;
  try {
    const request = JSON.parse(utf8.decode(bodyBytes(call.request)));
    const response = JSON.parse(utf8.decode(bodyBytes(call.response)));
    if (call.reader === "torchserve") records = readTorchServe(request, response, mapping);
    else {
      const read = readInferences(request, response, mapping);
      records = read.records;
      version ||= read.version ?? "";
    }
  } catch (err) {
    if (call.reader === "torchserve") return { outcome: "passed_through", message: "not a JSON payload" };
    if (err instanceof PayloadError) return { outcome: "unreadable_payload", message: err.message };
    if (err instanceof SyntaxError || err instanceof TypeError)
      return { outcome: "unreadable_payload", message: "the payload is not JSON" };
    throw err;
  }
  const named = call.instances === undefined || call.instances === records.length;
  const ids = freshIds(records.length, named ? call.idBase : undefined);
  for (let i = 0; i < records.length; i++)
    sendPrediction(records[i] as InferenceRecord, ids[i] as string, version, call, sink);
  return { outcome: "recorded", predictions: records.length };
}

/** `n` prediction ids: the base (a random one when unset), with -<i> per instance when there are several. */
export function freshIds(n: number, base: string = randomUUID()): string[] {
  return n === 1 ? [base] : Array.from({ length: n }, (_, i) => `${base}-${i}`);
}

/** The same ids as one comma-separated header value, written without the list. */
export function idsHeaderValue(n: number, base: string): string {
  if (n === 1) return base;
  let value = `${base}-0`;
  for (let i = 1; i < n; i++) value += `,${base}-${i}`;
  return value;
}

const meta = emptyMeta();

function sendPrediction(
  r: InferenceRecord,
  id: string,
  version: string,
  call: CapturedCall,
  sink: RecordSink,
): void {
  sink.beginRecord(Attributes.EMPTY);
  sink.attribute("ml.model.name", call.model);
  sink.attribute("ml.prediction.id", id);
  if (version !== "") sink.attribute("ml.model.version", version);
  if (r.predictedClass !== undefined) sink.attribute("ml.prediction.class", r.predictedClass);
  if (r.predictedValue !== undefined) sink.numberAttribute("ml.prediction.value", r.predictedValue);
  if (r.scores) sink.attribute("ml.prediction.scores", keyValues(r.scores));
  for (const _ in r.features) {
    sink.attribute("ml.features", keyValues(r.features));
    break;
  }
  for (const k in call.segments) sink.attribute(`ml.segment.${k}`, call.segments[k] as string);
  if (call.latencyMs !== undefined) sink.numberAttribute("ml.latency_ms", call.latencyMs);
  meta.timeMs = call.timeMs;
  meta.eventName = PREDICTION_EVENT;
  sink.endRecord(meta);
}

function keyValues(o: Readonly<Record<string, number | string>>): Attributes {
  const kv = new Attributes();
  for (const k in o) kv.add(k, o[k] as number | string);
  return kv;
}

/** A body's bytes, its chunks joined when it came in several. */
export function bodyBytes(body: Body): Uint8Array {
  if (body instanceof Uint8Array) return body;
  return body.length === 1 ? (body[0] as Uint8Array) : Buffer.concat(body as Uint8Array[]);
}
