import { type ShadowPredictionRecord, type Store, utcText } from "../store/index.js";
import { type CandidateAnswer, inferBatch } from "./infer.js";
import type { OpenCandidate } from "./open-candidate.js";

export interface ReplayRange {
  /** Event time of the production predictions, epoch ms: [fromMs, toMs). */
  fromMs: number;
  toMs: number;
}

export interface ReplayReport {
  /** Production predictions the candidate answered. */
  inferred: number;
  /** Predictions it could not be run on, by reason. */
  skipped: { missing_feature: number };
  /** Time spent in the model, summed over batches. */
  inferenceMs: number;
}

interface StoredRow {
  ms: number;
  model_version: string;
  prediction_id: string;
  /** The spec's features in order (0 where missing). */
  x: number[];
  complete: number;
}

/** Rows read, run and written at a time. */
const BATCH_ROWS = 65_536;

/**
 * Runs a candidate on the stored predictions of the model it shadows, in event-time order, and writes its
 * answers to `shadow_predictions` (a repeated replay replaces them). Predictions lacking a feature the
 * candidate needs are counted, not run. Throws StoreError when the store fails.
 */
export async function replayCandidate(
  store: Store,
  candidate: OpenCandidate,
  range: ReplayRange,
): Promise<ReplayReport> {
  const db = store.database;
  const { spec } = candidate;
  const report: ReplayReport = { inferred: 0, skipped: { missing_feature: 0 }, inferenceMs: 0 };
  let after = { ms: range.fromMs - 1, id: "" }; // before every row in range
  for (;;) {
    const rs = await store.client.query({
      query: `SELECT toUnixTimestamp64Milli(time) AS ms, model_version, prediction_id,
                arrayMap(f -> features_numeric[f], {features:Array(String)}) AS x,
                arrayAll(f -> mapContains(features_numeric, f), {features:Array(String)}) AS complete
              FROM ${db}.predictions
              WHERE model = {model:String}
                AND time >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
                AND time < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
                AND (toUnixTimestamp64Milli(time), prediction_id) > ({after_ms:Int64}, {after_id:String})
              ORDER BY ms, prediction_id
              LIMIT {batch:UInt32}`,
      query_params: {
        model: spec.shadows,
        features: spec.input.features,
        from_ms: range.fromMs,
        to_ms: range.toMs,
        after_ms: after.ms,
        after_id: after.id,
        batch: BATCH_ROWS,
      },
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const rows = await rs.json<StoredRow>();
    if (rows.length === 0) return report;
    const last = rows[rows.length - 1] as StoredRow;
    after = { ms: Number(last.ms), id: last.prediction_id };
    const runnable = rows.filter((r) => Number(r.complete) === 1);
    report.skipped.missing_feature += rows.length - runnable.length;
    if (runnable.length === 0) continue;
    const features = Float32Array.from(runnable.flatMap((r) => r.x));
    const { answers, latencyMs } = await inferBatch(candidate, features, runnable.length);
    report.inferenceMs += latencyMs;
    report.inferred += runnable.length;
    await store.client.insert({
      table: `${db}.shadow_predictions`,
      values: runnable.map((r, i) =>
        record(spec.name, spec.shadows, r, answers[i] as CandidateAnswer, latencyMs / runnable.length),
      ),
      format: "JSONEachRow",
    });
  }
}

function record(
  candidate: string,
  model: string,
  row: StoredRow,
  answer: CandidateAnswer,
  latencyMs: number,
): ShadowPredictionRecord {
  return {
    time: utcText(Number(row.ms)),
    model,
    model_version: row.model_version,
    candidate,
    prediction_id: row.prediction_id,
    candidate_class: answer.predictedClass,
    candidate_value: answer.value,
    candidate_scores: answer.scores,
    latency_ms: latencyMs,
  };
}
