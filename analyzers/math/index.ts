export {
  type ClassificationMetrics,
  type ClassScores,
  type ConfusionCell,
  classificationMetrics,
} from "./classification.js";
export {
  compareDistributions,
  type Divergences,
  jensenShannonDistance,
  klDivergence,
  populationStabilityIndex,
  SMOOTHING_EPSILON,
  smoothedDistribution,
} from "./divergence.js";
export {
  emptyRegressionSums,
  type RegressionMetrics,
  type RegressionSums,
  regressionMetrics,
} from "./regression.js";
export {
  type Band,
  bandForSample,
  referenceBand,
  type Status,
  statusOf,
  type ThresholdRule,
  worseSide,
} from "./thresholds.js";
