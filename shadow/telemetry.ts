import type { Counter, Histogram, Meter } from "@opentelemetry/api";

/** The shadow runner's own instruments, exported on /metrics. */
export interface ShadowMetrics {
  /** Acknowledged predictions handed to the mirror worker. */
  mirrored: Counter;
  /** Predictions not mirrored or whose answers were lost, by reason (queue_full, inference_failed, insert_failed). */
  dropped: Counter;
  /** Candidate answers, by candidate. */
  inferred: Counter;
  /** Predictions a candidate could not be run on, by candidate and reason (missing_feature, wrong_type). */
  skipped: Counter;
  /** Wall time of one inference batch, by candidate. */
  batchSeconds: Histogram;
}

/** Why the mirror drops predictions: each starts at 0 on /metrics, so a rate reads 0 rather than nothing. */
const DROP_REASONS = ["queue_full", "inference_failed", "insert_failed"] as const;

export function createShadowMetrics(meter: Meter): ShadowMetrics {
  const metrics: ShadowMetrics = {
    mirrored: meter.createCounter("modelwatch_shadow_mirrored_records", {
      description: "Acknowledged predictions handed to the shadow candidates",
    }),
    dropped: meter.createCounter("modelwatch_shadow_dropped_records", {
      description: "Predictions the shadow candidates did not answer, by reason",
    }),
    inferred: meter.createCounter("modelwatch_shadow_inferences", {
      description: "Candidate answers written, by candidate",
    }),
    skipped: meter.createCounter("modelwatch_shadow_skipped_records", {
      description: "Predictions a candidate's input could not be built from, by candidate and reason",
    }),
    batchSeconds: meter.createHistogram("modelwatch_shadow_batch_duration_seconds", {
      description: "Time one candidate takes for one batch",
      unit: "s",
      advice: { explicitBucketBoundaries: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] },
    }),
  };
  for (const reason of DROP_REASONS) metrics.dropped.add(0, { reason });
  return metrics;
}

/** Reports the mirror's backlog, in predictions handed over but not yet taken into batches, at each scrape. */
export function observeMirrorQueue(meter: Meter, records: () => number): void {
  meter
    .createObservableGauge("modelwatch_shadow_queue_records", {
      description: "Predictions waiting for the shadow candidates",
    })
    .addCallback((result) => result.observe(records()));
}
