import { randomUUID } from "node:crypto";
import type { Label, Prediction, PredictionSource } from "../store/index.js";
import { Attributes, type AttrValue, type RawRecord } from "./otlp/record.js";

/** Why a record was not stored; each is a label value of the rejected-records counter. */
export const REJECT_REASONS = [
  "unknown_event",
  "missing_attribute",
  "invalid_attribute",
  "too_many_attributes",
  "time_out_of_range",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type MappedRecord =
  | { kind: "prediction"; prediction: Prediction }
  | { kind: "label"; label: Label }
  | { kind: "rejected"; reason: RejectReason; message: string }
  /** A span that is not about a model (the trace pipeline sends every span): skipped, not an error. */
  | { kind: "ignored" };

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
 * Reads one decoded record as a prediction or label event, following the event contract in the README.
 * Record attributes override resource attributes; only `ml.model.*` is read from the resource.
 */
export function mapRecord(
  record: RawRecord,
  source: PredictionSource,
  limits: MappingLimits,
  nowMs: number,
): MappedRecord {
  const attrs = record.attributes;
  if (attrs.size > limits.maxAttributesPerRecord) {
    return reject(
      "too_many_attributes",
      `${attrs.size} attributes, more than the limit of ${limits.maxAttributesPerRecord}`,
    );
  }
  const e = new EventFields();
  readResource(record.resource, e);
  const problem = readAttributes(attrs, e);
  if (problem) return problem;

  const isSpan = source === "otlp-traces";
  const eventName = isSpan ? PREDICTION_EVENT : record.eventName || e.eventName;
  if (isSpan && (e.model === "" || e.predictionId === "")) return { kind: "ignored" };
  if (eventName !== PREDICTION_EVENT && eventName !== LABEL_EVENT) {
    return reject(
      "unknown_event",
      eventName === ""
        ? `no event name: set the record's event_name (or attribute event.name) to ${PREDICTION_EVENT} or ${LABEL_EVENT}`
        : `event name ${JSON.stringify(eventName)} is neither ${PREDICTION_EVENT} nor ${LABEL_EVENT}`,
    );
  }
  if (e.model === "") return reject("missing_attribute", "attribute ml.model.name is missing");

  const timeMs = record.timeMs || record.observedTimeMs || nowMs;
  if (timeMs > nowMs + limits.maxFutureMs || timeMs < nowMs - limits.maxPastMs) {
    return reject(
      "time_out_of_range",
      `event time ${new Date(timeMs).toISOString()} is outside the accepted range (${Math.round(
        limits.maxPastMs / 3_600_000,
      )} h back to ${Math.round(limits.maxFutureMs / 60_000)} min ahead of the receiver's clock)`,
    );
  }

  if (eventName === LABEL_EVENT) {
    if (e.predictionId === "")
      return reject("missing_attribute", "attribute ml.prediction.id is missing on a label");
    if (e.labelClass === "" && e.labelValue === null) {
      return reject("missing_attribute", "a label needs ml.label.class or ml.label.value");
    }
    return {
      kind: "label",
      label: {
        timeMs,
        model: e.model,
        predictionId: e.predictionId,
        labelClass: e.labelClass,
        labelValue: e.labelValue,
      },
    };
  }
  return {
    kind: "prediction",
    prediction: {
      timeMs,
      model: e.model,
      modelVersion: e.modelVersion,
      predictionId: e.predictionId || randomUUID(),
      predictedClass: e.predictedClass,
      predictedValue: e.predictedValue,
      classScores: e.classScores,
      numericFeatures: e.numericFeatures,
      categoricalFeatures: e.categoricalFeatures,
      segments: e.segments,
      latencyMs: e.latencyMs ?? record.durationMs,
      source,
      traceId: record.traceId,
      spanId: record.spanId,
    },
  };
}

class EventFields {
  eventName = "";
  model = "";
  modelVersion = "";
  predictionId = "";
  predictedClass = "";
  predictedValue: number | null = null;
  classScores: Record<string, number> = {};
  numericFeatures: Record<string, number> = {};
  categoricalFeatures: Record<string, string> = {};
  segments: Record<string, string> = {};
  latencyMs: number | null = null;
  labelClass = "";
  labelValue: number | null = null;
}

const FEATURE = "ml.feature.";
const SCORE = "ml.prediction.score.";
const SEGMENT = "ml.segment.";

function readResource(resource: Attributes, e: EventFields): void {
  for (let i = 0; i < resource.keys.length; i++) {
    const key = resource.keys[i];
    const value = resource.values[i] as AttrValue;
    if (key === "ml.model.name" && typeof value === "string") e.model = value;
    else if (key === "ml.model.version" && value !== null) e.modelVersion = scalarText(value) ?? "";
  }
}

/** Fills `e` from the record's attributes; returns a rejection for the first attribute of the wrong type. */
function readAttributes(attrs: Attributes, e: EventFields): MappedRecord | undefined {
  const { keys, values } = attrs;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const value = values[i] as AttrValue;
    // Cheap first-character test: most attributes on an ML event start with "ml.".
    if (key.charCodeAt(0) !== 109 /* m */ || !key.startsWith("ml.")) {
      if (key === "event.name" && typeof value === "string") e.eventName = value;
      continue;
    }
    if (key.startsWith(FEATURE)) {
      const name = key.slice(FEATURE.length);
      if (typeof value === "number") {
        if (!Number.isFinite(value)) return invalid(key, "a finite number");
        e.numericFeatures[name] = value;
      } else if (typeof value === "string") e.categoricalFeatures[name] = value;
      else if (typeof value === "boolean") e.categoricalFeatures[name] = value ? "true" : "false";
      else if (value !== null) return invalid(key, "a number, string or bool");
      continue;
    }
    if (key.startsWith(SCORE)) {
      if (typeof value !== "number" || !Number.isFinite(value)) return invalid(key, "a finite number");
      e.classScores[key.slice(SCORE.length)] = value;
      continue;
    }
    if (key.startsWith(SEGMENT)) {
      const text = scalarText(value);
      if (text === undefined) return invalid(key, "a string");
      e.segments[key.slice(SEGMENT.length)] = text;
      continue;
    }
    const problem = readNamed(key, value, e);
    if (problem) return problem;
  }
  return undefined;
}

function readNamed(key: string, value: AttrValue, e: EventFields): MappedRecord | undefined {
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
    case "ml.latency_ms": {
      if (typeof value !== "number" || !Number.isFinite(value)) return invalid(key, "a finite number");
      if (key === "ml.prediction.value") e.predictedValue = value;
      else if (key === "ml.label.value") e.labelValue = value;
      else e.latencyMs = value;
      return undefined;
    }
    case "ml.prediction.scores":
      return readKvList(key, value, (k, v) => {
        if (typeof v !== "number" || !Number.isFinite(v)) return "a finite number";
        e.classScores[k] = v;
        return undefined;
      });
    case "ml.features":
      return readKvList(key, value, (k, v) => {
        if (typeof v === "number") {
          if (!Number.isFinite(v)) return "a finite number";
          e.numericFeatures[k] = v;
        } else if (typeof v === "string") e.categoricalFeatures[k] = v;
        else if (typeof v === "boolean") e.categoricalFeatures[k] = v ? "true" : "false";
        else return "a number, string or bool";
        return undefined;
      });
    default:
      return undefined; // other ml.* attributes are not part of the contract; kept out, not refused
  }
}

function readKvList(
  key: string,
  value: AttrValue,
  put: (key: string, value: AttrValue) => string | undefined,
): MappedRecord | undefined {
  if (!(value instanceof Attributes)) return invalid(key, "a kvlist");
  for (let i = 0; i < value.keys.length; i++) {
    const k = value.keys[i] as string;
    const expected = put(k, value.values[i] as AttrValue);
    if (expected) return invalid(`${key}.${k}`, expected);
  }
  return undefined;
}

/** A scalar as text: ids and classes may be sent as ints or bools. */
function scalarText(value: AttrValue): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  return undefined;
}

function invalid(key: string, expected: string): MappedRecord {
  return reject("invalid_attribute", `attribute ${key} must be ${expected}`);
}

function reject(reason: RejectReason, message: string): MappedRecord {
  return { kind: "rejected", reason, message };
}
