import {
  type Label,
  labelTsv,
  type Prediction,
  type PredictionSource,
  predictionTsv,
} from "../store/index.js";
import type { BatchWriter, WriteOutcome } from "./batch-writer.js";
import { type MappingLimits, mapRecord } from "./event-mapping.js";
import type { RawRecord } from "./otlp/record.js";
import type { CollectorMetrics } from "./telemetry.js";

/** What became of one request's records. */
export interface IngestResult {
  accepted: number;
  rejected: number;
  /** Spans with no model attributes: neither stored nor errors. */
  ignored: number;
  /** The first rejections, each naming its record, for the sender to fix. */
  errorMessage: string;
  /** Rejections with the index of the record each is about. */
  rejections: Array<{ index: number; reason: string; message: string }>;
  /** Whether the accepted records were stored; when not, the sender should retry the whole request. */
  write: WriteOutcome;
}

/** Receives each stored batch of predictions (the shadow runner's live mirror); must not throw. */
export type PredictionListener = (predictions: readonly Prediction[]) => void;

export interface IngestDeps {
  predictions: BatchWriter;
  labels: BatchWriter;
  limits: MappingLimits;
  metrics: CollectorMetrics;
  clock?: () => number;
  onPredictions?: PredictionListener;
}

/** How many rejection messages a response spells out; the count covers the rest. */
const MAX_MESSAGES = 5;

/** Maps decoded records to events, writes them, and reports per record what happened. */
export class Ingest {
  private readonly clock: () => number;

  constructor(private readonly deps: IngestDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  async ingest(
    records: readonly RawRecord[],
    source: PredictionSource,
    signal: string,
  ): Promise<IngestResult> {
    const now = this.clock();
    const predictions: Prediction[] = [];
    const labels: Label[] = [];
    let predictionTsvText = "";
    let labelTsvText = "";
    let ignored = 0;
    const rejections: IngestResult["rejections"] = [];
    for (let i = 0; i < records.length; i++) {
      const mapped = mapRecord(records[i] as RawRecord, source, this.deps.limits, now);
      switch (mapped.kind) {
        case "prediction":
          predictions.push(mapped.prediction);
          predictionTsvText += predictionTsv(mapped.prediction);
          break;
        case "label":
          labels.push(mapped.label);
          labelTsvText += labelTsv(mapped.label);
          break;
        case "rejected":
          rejections.push({ index: i, reason: mapped.reason, message: mapped.message });
          this.deps.metrics.rejected.add(1, { signal, reason: mapped.reason });
          break;
        case "ignored":
          ignored++;
          break;
      }
    }
    const [p, l] = await Promise.all([
      this.deps.predictions.write(predictionTsvText, predictions.length),
      this.deps.labels.write(labelTsvText, labels.length),
    ]);
    const write = !p.ok ? p : l;
    if (write.ok) {
      if (predictions.length)
        this.deps.metrics.accepted.add(predictions.length, { signal, kind: "prediction" });
      if (labels.length) this.deps.metrics.accepted.add(labels.length, { signal, kind: "label" });
      if (predictions.length && this.deps.onPredictions) notify(this.deps.onPredictions, predictions);
    }
    return {
      accepted: predictions.length + labels.length,
      rejected: rejections.length,
      ignored,
      errorMessage: summarize(rejections),
      rejections,
      write,
    };
  }
}

function summarize(rejections: IngestResult["rejections"]): string {
  if (rejections.length === 0) return "";
  const parts = rejections.slice(0, MAX_MESSAGES).map((r) => `record ${r.index}: ${r.message}`);
  const more = rejections.length > MAX_MESSAGES ? `; and ${rejections.length - MAX_MESSAGES} more` : "";
  return `${rejections.length} record(s) rejected: ${parts.join("; ")}${more}`;
}

function notify(listener: PredictionListener, predictions: readonly Prediction[]): void {
  try {
    listener(predictions);
  } catch {
    // A listener's failure is its own; ingest has already stored the records.
  }
}
