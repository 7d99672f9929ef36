export { type AnalysisReport, type AnalyzeRequest, Analyzer } from "./analyze.js";
export { EXPORTED_METRICS, type MetricName, SHADOW_METRICS } from "./metric-names.js";
export {
  type AnalysisOptions,
  configKey,
  DEFAULT_ANALYSIS,
  DEFAULT_THRESHOLDS,
  type ReferenceChoice,
} from "./options.js";
export { type StoredMetric, storedMetrics } from "./results.js";
export { AnalysisScheduler, type SchedulerEvents } from "./scheduler.js";
export { observeAnalysis } from "./telemetry.js";
export { parseThresholds } from "./threshold-config.js";
export { type Thresholds, windowMetrics } from "./window-metrics.js";
