import { RowBinaryWriter, writeShadowPrediction } from "../store/rows.js";
import type { BatchAnswers } from "./infer.js";
import type { OpenCandidate } from "./open-candidate.js";

/** The production predictions a batch of answers belongs to, in the batch's row order. */
export interface AnsweredPredictions {
  timeMs: ArrayLike<number>;
  versions: readonly string[];
  ids: readonly string[];
}

/**
 * A batch's answers as `shadow_predictions` rows in RowBinary, each beside the production prediction it
 * answers; the batch's inference time is shared over its rows.
 */
export function answerRows(
  candidate: OpenCandidate,
  predictions: AnsweredPredictions,
  answers: BatchAnswers,
  latencyMs: number,
): Uint8Array {
  const { rows } = answers;
  const w = new RowBinaryWriter(rows * 128);
  const { spec } = candidate;
  const classes = spec.output.kind === "probabilities" ? spec.output.classes : [];
  const k = classes.length;
  // One row's scores, refilled for each row (a view per row would cost more than the copy).
  const scores = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < k; c++) scores[c] = answers.scores[r * k + c] as number;
    writeShadowPrediction(w, {
      timeMs: predictions.timeMs[r] as number,
      model: spec.shadows,
      modelVersion: predictions.versions[r] as string,
      candidate: spec.name,
      predictionId: predictions.ids[r] as string,
      candidateClass: k > 0 ? (classes[answers.best[r] as number] as string) : "",
      candidateValue: k > 0 ? null : (answers.values[r] as number),
      scoreClasses: classes,
      scores,
      latencyMs: latencyMs / rows,
    });
  }
  return w.bytes();
}
