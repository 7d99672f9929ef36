import type { Dense } from "../../bench/onnx-models.js";

/** Logistic regression over 3 features into 2 classes, weights known: the shadow tests' candidate. */
export const LOGISTIC: Dense[] = [
  {
    weights: [
      [0.5, -0.5],
      [1, 2],
      [-1, 0.25],
    ],
    bias: [0.1, -0.1],
  },
];

/** A 2-layer MLP (3 features → 4 hidden → 3 classes), weights known. */
export const MLP: Dense[] = [
  {
    weights: [
      [0.2, -0.4, 0.6, 0.1],
      [-0.3, 0.5, 0.05, 0.7],
      [0.9, -0.2, -0.6, 0.3],
    ],
    bias: [0.05, -0.1, 0.2, 0],
  },
  {
    weights: [
      [1, -1, 0.5],
      [-0.5, 0.8, 0.3],
      [0.4, 0.2, -0.9],
      [-0.7, 0.6, 1.1],
    ],
    bias: [0.1, 0, -0.1],
  },
];
