import type { Counter, Histogram, Meter } from "@opentelemetry/api";

/** The collector's own instruments, exported on /metrics. */
export interface CollectorMetrics {
  /** Records stored, by signal (logs, traces, events) and kind (prediction, label). */
  accepted: Counter;
  /** Records refused, by signal and reason (a REJECT_REASONS value, or a request-level reason). */
  rejected: Counter;
  /** Requests answered, by route and HTTP status. */
  requests: Counter;
  /** Rows per insert, by table. */
  batchRecords: Histogram;
  /** Insert latency in seconds, by table and outcome. */
  insertDuration: Histogram;
  /** Segment replays that failed (and will be retried), and segments set aside as invalid. */
  replayFailures: Counter;
  quarantinedSegments: Counter;
  /** Inference calls through the tap proxy, by outcome (recorded, upstream_error, unreadable_payload, …). */
  tapCalls: Counter;
}

/** Reports the spool's backlog, in bytes acknowledged but not yet in the store, at each scrape. */
export function observeSpool(meter: Meter, bytes: () => number): void {
  meter
    .createObservableGauge("modelwatch_spool_bytes", {
      description: "Acknowledged bytes waiting in the spool for the store",
      unit: "By",
    })
    .addCallback((result) => result.observe(bytes()));
}

export function createCollectorMetrics(meter: Meter): CollectorMetrics {
  return {
    accepted: meter.createCounter("modelwatch_records_accepted", {
      description: "Prediction and label records stored",
    }),
    rejected: meter.createCounter("modelwatch_records_rejected", {
      description: "Records refused, by reason",
    }),
    requests: meter.createCounter("modelwatch_ingest_requests", {
      description: "Ingest requests answered, by route and status",
    }),
    batchRecords: meter.createHistogram("modelwatch_insert_batch_records", {
      description: "Rows per insert into the store",
      advice: { explicitBucketBoundaries: [1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000, 50000] },
    }),
    insertDuration: meter.createHistogram("modelwatch_insert_duration_seconds", {
      description: "Time to insert one batch into the store",
      unit: "s",
      advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
    }),
    replayFailures: meter.createCounter("modelwatch_spool_replay_failures", {
      description: "Spool segment inserts that failed and will be retried",
    }),
    quarantinedSegments: meter.createCounter("modelwatch_spool_quarantined_segments", {
      description: "Spool segments the store refused as invalid, moved to the spool's failed/ directory",
    }),
    tapCalls: meter.createCounter("modelwatch_tap_calls", {
      description: "Inference calls through the tap proxy, by outcome",
    }),
  };
}
