import { RowBinaryWriter, writeShadowPrediction } from "../store/index.js";
import type { CandidateAnswer } from "./infer.js";
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
  answers: readonly CandidateAnswer[],
  latencyMs: number,
): Uint8Array {
  const w = new RowBinaryWriter(answers.length * 128);
  const { spec } = candidate;
  const classes = spec.output.kind === "probabilities" ? spec.output.classes : [];
  answers.forEach((answer, i) => {
    writeShadowPrediction(w, {
      timeMs: predictions.timeMs[i] as number,
      model: spec.shadows,
      modelVersion: predictions.versions[i] as string,
      candidate: spec.name,
      predictionId: predictions.ids[i] as string,
      candidateClass: answer.predictedClass,
      candidateValue: answer.value,
      scoreClasses: classes,
      scores: answer.scores,
      latencyMs: latencyMs / answers.length,
    });
  });
  return w.bytes();
}
