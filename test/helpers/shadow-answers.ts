import { RowBinaryWriter, type Store, writeShadowPrediction } from "../../store/index.js";
import type { FixturePrediction } from "./fixtures.js";

/** Stores a shadow candidate's class answers for fixture predictions, as the shadow runner would. */
export async function insertCandidateAnswers(
  store: Store,
  predictions: readonly FixturePrediction[],
  candidate: string,
  answer: (i: number) => { candidateClass: string; latencyMs: number },
): Promise<void> {
  const w = new RowBinaryWriter();
  predictions.forEach((p, i) => {
    writeShadowPrediction(w, {
      timeMs: p.timeMs,
      model: p.model,
      modelVersion: p.version,
      candidate,
      predictionId: p.id,
      candidateValue: null,
      scoreClasses: [],
      scores: [],
      ...answer(i),
    });
  });
  await store.insertRows("shadow_predictions", w.bytes());
}
