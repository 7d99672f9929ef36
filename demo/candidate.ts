/**
 * The demo's shadow candidate: a logistic model over churn's `age` and `tenure` (demo/churn-candidate.onnx,
 * written by `npm run demo:model` from the weights below and committed, so nothing is built or fetched at
 * run time). It leans a little more on tenure than production does (workload.ts, churnSaysYes), so the
 * two mostly agree and disagree near the boundary.
 */
export const CANDIDATE_FILE = "demo-churn-candidate.onnx";

export const CANDIDATE_SPEC = {
  name: "churn-candidate",
  shadows: "churn",
  file: CANDIDATE_FILE,
  input: { features: ["age", "tenure"] },
  output: { kind: "probabilities", classes: ["no", "yes"] },
} as const;

/** Dense layer: features × classes (no, yes); z_yes − z_no = 0.07·age − 0.06·tenure − 1.7. */
export const CANDIDATE_WEIGHTS = {
  weights: [
    [0, 0.07],
    [0, -0.06],
  ],
  bias: [0, -1.7],
};
