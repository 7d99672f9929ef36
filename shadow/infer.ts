import { Tensor } from "onnxruntime-node";
import type { OpenCandidate } from "./open-candidate.js";

/** A candidate's answer for one row. */
export interface CandidateAnswer {
  /** The most probable class (the first of equals); empty for a value output. */
  predictedClass: string;
  value: number | null;
  /** Probabilities in the order of the spec's classes; empty for a value output. */
  scores: ArrayLike<number>;
}

const NO_SCORES = new Float32Array(0);

/**
 * Runs the candidate on `rows` rows of features (row-major, as many columns as the spec's features) and
 * reads its output as the spec says. Resolves with one answer per row and the inference's wall time.
 */
export async function inferBatch(
  candidate: OpenCandidate,
  features: Float32Array,
  rows: number,
): Promise<{ answers: CandidateAnswer[]; latencyMs: number }> {
  const width = candidate.spec.input.features.length;
  const started = performance.now();
  const outputs = await candidate.session.run(
    { [candidate.inputName]: new Tensor("float32", features, [rows, width]) },
    [candidate.outputName],
  );
  const latencyMs = performance.now() - started;
  const data = outputs[candidate.outputName]?.data as Float32Array;
  const output = candidate.spec.output;
  const answers: CandidateAnswer[] = [];
  for (let r = 0; r < rows; r++) {
    if (output.kind === "value") {
      answers.push({ predictedClass: "", value: data[r] as number, scores: NO_SCORES });
      continue;
    }
    const scores = data.subarray(r * output.classes.length, (r + 1) * output.classes.length);
    let best = 0;
    for (let c = 1; c < scores.length; c++) if ((scores[c] as number) > (scores[best] as number)) best = c;
    answers.push({ predictedClass: output.classes[best] as string, value: null, scores });
  }
  return { answers, latencyMs };
}
