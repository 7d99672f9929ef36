import { Tensor } from "onnxruntime-node";
import type { InputLayout, OpenCandidate } from "./open-candidate.js";

/**
 * A candidate's answers for a batch, column by column (no object per row: the live mirror reads thousands
 * of batches a minute).
 */
export interface BatchAnswers {
  rows: number;
  /** Per row, the index in the spec's classes of the most probable class (the first of equals). */
  best: Int32Array;
  /** Probabilities, row-major in the order of the spec's classes; empty for a value output. */
  scores: Float32Array | Float64Array;
  /** A value per row; empty for a probabilities output. */
  values: Float32Array | Float64Array;
}

const NONE = new Float32Array(0);
const NO_BEST = new Int32Array(0);

/**
 * Runs the candidate on `rows` rows of features (row-major, as many columns as the spec's features) and
 * reads its output as the spec says. Resolves with the answers and the inference's wall time.
 */
export async function inferBatch(
  candidate: OpenCandidate,
  features: Float32Array,
  rows: number,
): Promise<{ answers: BatchAnswers; latencyMs: number }> {
  const feeds = inputTensors(candidate.input, features, rows, candidate.features.length);
  const started = performance.now();
  const outputs = await candidate.session.run(feeds, [candidate.outputName]);
  const latencyMs = performance.now() - started;
  const data = outputs[candidate.outputName]?.data as Float32Array | Float64Array;
  const output = candidate.spec.output;
  if (output.kind === "value")
    return { answers: { rows, best: NO_BEST, scores: NONE, values: data.subarray(0, rows) }, latencyMs };
  const k = output.classes.length;
  const best = new Int32Array(rows);
  for (let r = 0, at = 0; r < rows; r++, at += k) {
    let b = 0;
    for (let c = 1; c < k; c++) if ((data[at + c] as number) > (data[at + b] as number)) b = c;
    best[r] = b;
  }
  return { answers: { rows, best, scores: data, values: NONE }, latencyMs };
}

/** The graph's inputs from row-major float32 features, in the layout and element type the graph takes. */
function inputTensors(
  layout: InputLayout,
  features: Float32Array,
  rows: number,
  width: number,
): Record<string, Tensor> {
  if (layout.kind === "matrix")
    return {
      [layout.name]:
        layout.type === "float32"
          ? new Tensor("float32", features, [rows, width])
          : new Tensor("float64", Float64Array.from(features), [rows, width]),
    };
  const feeds: Record<string, Tensor> = {};
  layout.tensors.forEach((t, j) => {
    const column = t.type === "float32" ? new Float32Array(rows) : new Float64Array(rows);
    for (let r = 0; r < rows; r++) column[r] = features[r * width + j] as number;
    feeds[t.name] = new Tensor(t.type, column, t.dims === 2 ? [rows, 1] : [rows]);
  });
  return feeds;
}
