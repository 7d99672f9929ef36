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

/**
 * Inferences as NDJSON `ml.prediction` events, read by the collector like any other (the same contract,
 * limits and counting as `/v1/events`).
 */
export function inferenceEvents(records: readonly InferenceRecord[], context: InferenceContext): string {
  return records
    .map((r, i) => {
      const event: Record<string, unknown> = {
        event: "ml.prediction",
        time: context.timeMs,
        "ml.model.name": context.model,
        "ml.prediction.id": context.ids[i],
      };
      if (context.version !== "") event["ml.model.version"] = context.version;
      if (r.predictedClass !== undefined) event["ml.prediction.class"] = r.predictedClass;
      if (r.predictedValue !== undefined) event["ml.prediction.value"] = r.predictedValue;
      if (r.scores) event["ml.prediction.scores"] = r.scores;
      if (Object.keys(r.features).length > 0) event["ml.features"] = r.features;
      for (const [k, v] of Object.entries(context.segments ?? {})) event[`ml.segment.${k}`] = v;
      if (context.latencyMs !== undefined) event["ml.latency_ms"] = context.latencyMs;
      return JSON.stringify(event);
    })
    .join("\n");
}
