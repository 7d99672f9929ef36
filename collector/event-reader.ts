import { randomUUID } from "node:crypto";
import { type Label, type PredictionParts, PredictionRows, type PredictionSource } from "../store/rows.js";
import { Attributes, type AttrValue, type RecordMeta, type RecordSink } from "./record-sink.js";

/** Why a record was not stored; each is a label value of the rejected-records counter. */
export const REJECT_REASONS = [
  "unknown_event",
  "missing_attribute",
  "invalid_attribute",
  "too_many_attributes",
  "time_out_of_range",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface Rejection {
  /** The record's position in its request, from 0. */
  index: number;
  reason: RejectReason;
  message: string;
}

export interface MappingLimits {
  maxAttributesPerRecord: number;
  /** How far ahead of the receiver's clock an event time may be. */
  maxFutureMs: number;
  /** How far back an event time may be. */
  maxPastMs: number;
}

export const PREDICTION_EVENT = "ml.prediction";
export const LABEL_EVENT = "ml.label";

/**
 * Reads a request's records as prediction and label events, following the event contract in the README,
 * into prediction rows and a list of labels; records that break the contract become rejections. Record
 * attributes override resource attributes; only `ml.model.*` is read from the resource.
 *
 * One reader serves one request. Its per-record fields are reused from record to record, so reading a
 * record allocates nothing but what the rows keep.
 */
export class EventReader implements RecordSink {
  readonly predictions: PredictionRows;
  readonly labels: Label[] = [];
  readonly rejections: Rejection[] = [];
  /** Spans that are not about a model (a trace pipeline sends every span): skipped, not errors. */
  ignored = 0;

  private index = -1;
  private readonly e = new EventFields();
  private problem: { reason: RejectReason; message: string } | undefined;
  private attributeCount = 0;

  constructor(
    private readonly source: PredictionSource,
    private readonly limits: MappingLimits,
    private readonly nowMs: number,
    /** The request body's size: rows take less room than the records they come from (measured: 0.4 of an OTLP protobuf body). */
    bodyBytes = 0,
  ) {
    this.predictions = new PredictionRows(Math.max(1024, Math.ceil(bodyBytes * 0.5)));
  }

  beginRecord(resource: Attributes): void {
    this.index++;
    recordSerial++;
    this.e.reset();
    this.problem = undefined;
    this.attributeCount = 0;
    for (let i = 0; i < resource.keys.length; i++) {
      const key = resource.keys[i];
      const value = resource.values[i] as AttrValue;
      if (key === "ml.model.name" && typeof value === "string") this.e.model = value;
      else if (key === "ml.model.version") this.e.modelVersion = scalarText(value) ?? "";
    }
  }

  attribute(key: string, value: AttrValue): void {
    this.attributeCount++;
    if (this.problem === undefined) this.problem = readAttribute(key, value, this.e);
  }

  numberAttribute(key: string, value: number): void {
    this.attributeCount++;
    if (this.problem !== undefined) return;
    const info = keyInfo(key);
    const e = this.e;
    if (info.family === "feature" && Number.isFinite(value)) {
      put(e.numericKeys, e.numericValues, info.name, value, claim(info, e));
    } else if (info.family === "score" && Number.isFinite(value)) {
      put(e.scoreKeys, e.scoreValues, info.name, value, claim(info, e));
    } else this.problem = readAttribute(key, value, e);
  }

  endRecord(meta: RecordMeta): void {
    const outcome = this.finish(meta);
    if (outcome) this.rejections.push({ index: this.index, ...outcome });
  }

  private finish(meta: RecordMeta): { reason: RejectReason; message: string } | undefined {
    const e = this.e;
    const isSpan = this.source === "otlp-traces";
    if (isSpan && (e.model === "" || e.predictionId === "")) {
      this.ignored++;
      return undefined;
    }
    if (this.attributeCount > this.limits.maxAttributesPerRecord) {
      return {
        reason: "too_many_attributes",
        message: `${this.attributeCount} attributes, more than the limit of ${this.limits.maxAttributesPerRecord}`,
      };
    }
    if (this.problem) return this.problem;
    const eventName = isSpan ? PREDICTION_EVENT : meta.eventName || e.eventName;
    if (eventName !== PREDICTION_EVENT && eventName !== LABEL_EVENT) {
      return {
        reason: "unknown_event",
        message:
          eventName === ""
            ? `no event name: set the record's event_name (or attribute event.name) to ${PREDICTION_EVENT} or ${LABEL_EVENT}`
            : `event name ${JSON.stringify(eventName)} is neither ${PREDICTION_EVENT} nor ${LABEL_EVENT}`,
      };
    }
    if (e.model === "") return missing("attribute ml.model.name is missing");
    const timeMs = meta.timeMs || meta.observedTimeMs || this.nowMs;
    if (timeMs > this.nowMs + this.limits.maxFutureMs || timeMs < this.nowMs - this.limits.maxPastMs) {
      return {
        reason: "time_out_of_range",
        message: `event time ${new Date(timeMs).toISOString()} is outside the accepted range (${Math.round(
          this.limits.maxPastMs / 86_400_000,
        )} days back to ${Math.round(this.limits.maxFutureMs / 60_000)} min ahead of the receiver's clock)`,
      };
    }
    if (eventName === LABEL_EVENT) {
      if (e.predictionId === "") return missing("attribute ml.prediction.id is missing on a label");
      if (e.labelClass === "" && e.labelValue === null) {
        return missing("a label needs ml.label.class or ml.label.value");
      }
      this.labels.push({
        timeMs,
        model: e.model,
        predictionId: e.predictionId,
        labelClass: e.labelClass,
        labelValue: e.labelValue,
      });
      return undefined;
    }
    e.timeMs = timeMs;
    if (e.predictionId === "") e.predictionId = randomUUID();
    e.latencyMs ??= meta.durationMs;
    e.source = this.source;
    e.traceId = meta.traceId;
    e.spanId = meta.spanId;
    this.predictions.push(e);
    return undefined;
  }
}

/** The fields of the record being read; reset and reused for the next. */
class EventFields implements PredictionParts {
  eventName = "";
  timeMs = 0;
  model = "";
  modelVersion = "";
  predictionId = "";
  predictedClass = "";
  predictedValue: number | null = null;
  latencyMs: number | null = null;
  labelClass = "";
  labelValue: number | null = null;
  /** Whether a kvlist (ml.features, ml.prediction.scores) set entries in this record. */
  fromKvList = false;
  source: PredictionSource = "events";
  traceId = "";
  spanId = "";
  scoreKeys: string[] = [];
  scoreValues: number[] = [];
  numericKeys: string[] = [];
  numericValues: number[] = [];
  categoricalKeys: string[] = [];
  categoricalValues: string[] = [];
  segmentKeys: string[] = [];
  segmentValues: string[] = [];

  reset(): void {
    this.eventName = "";
    this.model = "";
    this.modelVersion = "";
    this.predictionId = "";
    this.predictedClass = "";
    this.predictedValue = null;
    this.latencyMs = null;
    this.labelClass = "";
    this.labelValue = null;
    this.fromKvList = false;
    this.scoreKeys.length = 0;
    this.scoreValues.length = 0;
    this.numericKeys.length = 0;
    this.numericValues.length = 0;
    this.categoricalKeys.length = 0;
    this.categoricalValues.length = 0;
    this.segmentKeys.length = 0;
    this.segmentValues.length = 0;
  }
}

/**
 * Sets keys[k] = value, the later of two equal keys winning, as a map would. A key known to be `fresh` in this
 * record (see `claim`) is appended without searching the record's earlier entries: the common case.
 */
function put<V>(keys: string[], values: V[], key: string, value: V, fresh: boolean): void {
  if (!fresh) {
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === key) {
        values[i] = value;
        return;
      }
    }
  }
  keys.push(key);
  values.push(value);
}

/**
 * Marks an attribute key as set in the current record; true when it was not set before in it (and no kvlist,
 * whose entries are not keyed by attribute, could have set its name).
 */
function claim(info: KeyInfo, e: EventFields): boolean {
  const fresh = info.seen !== recordSerial && !e.fromKvList;
  info.seen = recordSerial;
  return fresh;
}

type Family = "feature" | "score" | "segment" | "named" | "event" | "other";

/** How an attribute key is read: its family, and the name inside the family. */
interface KeyInfo {
  family: Family;
  name: string;
  /** The serial of the last record that set this key: a second setting in one record is a duplicate. */
  seen: number;
}

/** Counts records read, across readers (a record is read start to end without yielding). */
let recordSerial = 0;

const FEATURE = "ml.feature.";
const SCORE = "ml.prediction.score.";
const SEGMENT = "ml.segment.";
const MAX_CACHED_KEYS = 10_000;
const keyInfos = new Map<string, KeyInfo>();

/**
 * Classifies an attribute key, remembering the answer: keys repeat on every record, and reusing one `name`
 * string per key saves slicing (and later hashing) a new one each time.
 */
function keyInfo(key: string): KeyInfo {
  let info = keyInfos.get(key);
  if (info !== undefined) return info;
  if (key.startsWith(FEATURE)) info = { family: "feature", name: key.slice(FEATURE.length), seen: 0 };
  else if (key.startsWith(SCORE)) info = { family: "score", name: key.slice(SCORE.length), seen: 0 };
  else if (key.startsWith(SEGMENT)) info = { family: "segment", name: key.slice(SEGMENT.length), seen: 0 };
  else if (key.startsWith("ml.")) info = { family: "named", name: key, seen: 0 };
  else if (key === "event.name") info = { family: "event", name: key, seen: 0 };
  else info = { family: "other", name: key, seen: 0 };
  // Bounded: a flood of distinct keys is classified each time rather than growing memory.
  if (keyInfos.size < MAX_CACHED_KEYS) keyInfos.set(key, info);
  return info;
}

type Problem = { reason: RejectReason; message: string } | undefined;

/** Reads one attribute into `e`; returns the problem when its value has the wrong type. */
function readAttribute(key: string, value: AttrValue, e: EventFields): Problem {
  const info = keyInfo(key);
  const { family, name } = info;
  switch (family) {
    case "feature":
      return putFeature(e, key, name, value, claim(info, e));
    case "score":
      if (typeof value !== "number" || !Number.isFinite(value)) return invalid(key, "a finite number");
      put(e.scoreKeys, e.scoreValues, name, value, claim(info, e));
      return undefined;
    case "segment": {
      const text = scalarText(value);
      if (text === undefined) return invalid(key, "a string");
      put(e.segmentKeys, e.segmentValues, name, text, claim(info, e));
      return undefined;
    }
    case "named":
      return readNamed(key, value, e);
    case "event":
      if (typeof value === "string") e.eventName = value;
      return undefined;
    case "other":
      return undefined;
  }
}

function putFeature(e: EventFields, key: string, name: string, value: AttrValue, fresh: boolean): Problem {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return invalid(key, "a finite number");
    put(e.numericKeys, e.numericValues, name, value, fresh);
  } else if (typeof value === "string") put(e.categoricalKeys, e.categoricalValues, name, value, fresh);
  else if (typeof value === "boolean")
    put(e.categoricalKeys, e.categoricalValues, name, value ? "true" : "false", fresh);
  else if (value !== null) return invalid(key, "a number, string or bool");
  return undefined;
}

function readNamed(key: string, value: AttrValue, e: EventFields): Problem {
  switch (key) {
    case "ml.model.name":
      if (typeof value !== "string") return invalid(key, "a string");
      e.model = value;
      return undefined;
    case "ml.model.version":
    case "ml.prediction.id":
    case "ml.prediction.class":
    case "ml.label.class": {
      const text = scalarText(value);
      if (text === undefined) return invalid(key, "a string");
      if (key === "ml.model.version") e.modelVersion = text;
      else if (key === "ml.prediction.id") e.predictionId = text;
      else if (key === "ml.prediction.class") e.predictedClass = text;
      else e.labelClass = text;
      return undefined;
    }
    case "ml.prediction.value":
    case "ml.label.value":
    case "ml.latency_ms":
      if (typeof value !== "number" || !Number.isFinite(value)) return invalid(key, "a finite number");
      if (key === "ml.prediction.value") e.predictedValue = value;
      else if (key === "ml.label.value") e.labelValue = value;
      else e.latencyMs = value;
      return undefined;
    case "ml.prediction.scores":
      if (!(value instanceof Attributes)) return invalid(key, "a kvlist");
      e.fromKvList = true;
      for (let i = 0; i < value.keys.length; i++) {
        const v = value.values[i];
        if (typeof v !== "number" || !Number.isFinite(v))
          return invalid(`${key}.${value.keys[i]}`, "a finite number");
        put(e.scoreKeys, e.scoreValues, value.keys[i] as string, v, false);
      }
      return undefined;
    case "ml.features":
      if (!(value instanceof Attributes)) return invalid(key, "a kvlist");
      e.fromKvList = true;
      for (let i = 0; i < value.keys.length; i++) {
        const k = value.keys[i] as string;
        const problem = putFeature(e, `${key}.${k}`, k, value.values[i] as AttrValue, false);
        if (problem) return problem;
      }
      return undefined;
    default:
      return undefined; // other ml.* attributes are not part of the contract: kept out, not refused
  }
}

/** A scalar as text: ids and classes may be sent as ints or bools. */
function scalarText(value: AttrValue): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  return undefined;
}

function invalid(key: string, expected: string): Problem {
  return { reason: "invalid_attribute", message: `attribute ${key} must be ${expected}` };
}

function missing(message: string): Problem {
  return { reason: "missing_attribute", message };
}
