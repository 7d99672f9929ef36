import type { InferenceRecord } from "./payload.js";

export interface InferenceContext {
  model: string;
  version: string;
  /** The prediction id of each instance. */
  ids: readonly string[];
  timeMs: number;
  segments?: Record<string, string>;
  latencyMs?: number;
}

const json = JSON.stringify;

/**
 * Inferences as NDJSON `ml.prediction` events, read by the collector like any other (the same contract,
 * limits and counting as `/v1/events`). Each line is written as text around its values (what the records
 * share once): the tap writes a line per instance of every call, and building an object per line to
 * stringify cost it a third more.
 */
export function inferenceEvents(records: readonly InferenceRecord[], context: InferenceContext): string {
  const start = `{"event":"ml.prediction","time":${json(context.timeMs)},"ml.model.name":${json(context.model)}`;
  const version = context.version !== "" ? `,"ml.model.version":${json(context.version)}` : "";
  let end = "";
  for (const [k, v] of Object.entries(context.segments ?? {}))
    end += `,${json(`ml.segment.${k}`)}:${json(v)}`;
  if (context.latencyMs !== undefined) end += `,"ml.latency_ms":${json(context.latencyMs)}`;
  end += "}";
  let out = "";
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as InferenceRecord;
    const id = context.ids[i];
    let line = id === undefined ? `${start}${version}` : `${start},"ml.prediction.id":${json(id)}${version}`;
    if (r.predictedClass !== undefined) line += `,"ml.prediction.class":${json(r.predictedClass)}`;
    if (r.predictedValue !== undefined) line += `,"ml.prediction.value":${json(r.predictedValue)}`;
    if (r.scores) line += `,"ml.prediction.scores":${json(r.scores)}`;
    for (const _ in r.features) {
      line += `,"ml.features":${json(r.features)}`;
      break;
    }
    out += i === 0 ? `${line}${end}` : `\n${line}${end}`;
  }
  return out;
}
