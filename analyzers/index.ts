export { type AnalysisReport, type AnalyzeRequest, Analyzer } from "./analyze.js";
export {
  type AnalysisOptions,
  configKey,
  DEFAULT_ANALYSIS,
  DEFAULT_THRESHOLDS,
  type ReferenceChoice,
} from "./options.js";
export { type LatestValue, latestValues, type StoredMetric, storedMetrics } from "./results.js";
export { AnalysisScheduler, type SchedulerEvents } from "./scheduler.js";
export { EXPORTED_METRICS, observeAnalysis } from "./telemetry.js";
export { type Thresholds, windowMetrics } from "./window-metrics.js";
