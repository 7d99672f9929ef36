import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { CANDIDATE_FILE, CANDIDATE_SPEC } from "./candidate.js";
import {
  DEMO_MODELS,
  type DemoRecord,
  demoHistory,
  demoPrediction,
  driftStart,
  historyStart,
  random,
} from "./workload.js";

export interface DemoOptions {
  /** The running service, e.g. http://127.0.0.1:4318. */
  baseUrl: string;
  ingestToken?: string;
  readToken?: string;
  /** The service's models directory: the candidate's ONNX file is put there. */
  modelsDir: string;
  /** Seconds of live traffic after the history; undefined: until `signal` aborts. */
  durationS?: number;
  /** History predictions per hour and model (default 200). */
  perHour?: number;
  /** Live predictions per second and model (default 2). */
  livePerSecond?: number;
  signal?: AbortSignal;
  /** Says what the demo is doing (a line each). */
  progress?: (line: string) => void;
  now?: () => number;
}

export interface DemoSummary {
  predictions: number;
  labels: number;
  driftStartMs: number;
  historyStartMs: number;
}

/** The shipped candidate model, demo/churn-candidate.onnx: beside this file in the source tree, or from dist/demo. */
function candidateSource(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, "churn-candidate.onnx");
  return existsSync(beside) ? beside : join(here, "..", "..", "demo", "churn-candidate.onnx");
}

/**
 * Sends the demo's traffic (workload.ts) to a running service through the OpenTelemetry SDK's OTLP/HTTP
 * exporter: the history first, then the shadow candidate registered and replayed over it, an analysis so
 * every window has its numbers at once, then live traffic (and the labels falling due) until the duration
 * ends or `signal` aborts, and a last analysis.
 */
export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const now = o.now ?? Date.now;
  const say = o.progress ?? (() => {});
  const started = now();
  const exporter = new OTLPLogExporter({
    url: `${o.baseUrl}/v1/logs`,
    headers: o.ingestToken ? { authorization: `Bearer ${o.ingestToken}` } : {},
  });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": "modelwatch-demo" }),
    processors: [
      new BatchLogRecordProcessor({
        exporter,
        maxExportBatchSize: 1000,
        maxQueueSize: 200_000,
        scheduledDelayMillis: 200,
      }),
    ],
  });
  const logger = provider.getLogger("modelwatch-demo");
  const summary: DemoSummary = {
    predictions: 0,
    labels: 0,
    driftStartMs: driftStart(started),
    historyStartMs: historyStart(started),
  };
  const emit = (r: DemoRecord) => {
    logger.emit({ eventName: r.eventName, timestamp: new Date(r.timeMs), attributes: r.attributes });
    if (r.eventName === "ml.prediction") summary.predictions++;
    else summary.labels++;
  };
  try {
    const history = demoHistory(started, o.perHour ?? 200);
    say(
      `sending ${history.records.length} events of ${DEMO_MODELS.join(", ")} since ${new Date(summary.historyStartMs).toISOString()}`,
    );
    const chunk = 5000;
    for (let i = 0; i < history.records.length; i += chunk) {
      for (const r of history.records.slice(i, i + chunk)) emit(r);
      await provider.forceFlush();
      say(`sent ${Math.min(i + chunk, history.records.length)} of ${history.records.length}`);
    }
    await registerCandidate(o, say, summary.historyStartMs, started);
    await analyze(o, say);

    const pending = history.pendingLabels;
    const rand = random(11);
    const liveRate = o.livePerSecond ?? 2;
    const until = o.durationS === undefined ? Number.POSITIVE_INFINITY : started + o.durationS * 1000;
    let n = 0;
    let lastAnalysis = now();
    while (now() < until && !o.signal?.aborted) {
      const t = now();
      for (const model of DEMO_MODELS)
        for (let k = 0; k < liveRate; k++) {
          const { prediction, label } = demoPrediction(model, t, n++, rand, summary.driftStartMs);
          emit(prediction);
          if (label) pending.push(label);
        }
      for (let i = pending.length - 1; i >= 0; i--)
        if ((pending[i] as DemoRecord).timeMs <= t) emit(pending.splice(i, 1)[0] as DemoRecord);
      if (t - lastAnalysis >= 60_000) {
        await provider.forceFlush();
        await analyze(o, say);
        lastAnalysis = t;
      }
      await sleep(Math.min(1000, until - now()), o.signal);
    }
    await provider.forceFlush();
    if (o.durationS !== undefined && o.durationS > 0) await analyze(o, say);
    say(`sent ${summary.predictions} predictions and ${summary.labels} labels`);
    return summary;
  } finally {
    await provider.shutdown();
  }
}

async function registerCandidate(o: DemoOptions, say: (line: string) => void, fromMs: number, toMs: number) {
  mkdirSync(o.modelsDir, { recursive: true });
  copyFileSync(candidateSource(), join(o.modelsDir, CANDIDATE_FILE));
  const headers = { "content-type": "application/json", ...bearer(o.ingestToken) };
  const added = await fetch(`${o.baseUrl}/shadow/candidates?replace=1`, {
    method: "POST",
    headers,
    body: JSON.stringify(CANDIDATE_SPEC),
  });
  if (!added.ok)
    throw new Error(`the service refused the demo's candidate (${added.status}): ${await added.text()}`);
  say(`shadow candidate ${CANDIDATE_SPEC.name} registered; replaying the history through it`);
  const replay = await fetch(`${o.baseUrl}/shadow/replay`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      candidate: CANDIDATE_SPEC.name,
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs + 1000).toISOString(),
    }),
  });
  if (!replay.ok) throw new Error(`the replay failed (${replay.status}): ${await replay.text()}`);
}

async function analyze(o: DemoOptions, say: (line: string) => void): Promise<void> {
  say("analysing");
  const res = await fetch(`${o.baseUrl}/analyze`, {
    method: "POST",
    headers: { "content-type": "application/json", ...bearer(o.readToken) },
    body: "{}",
  });
  if (!res.ok) throw new Error(`the analysis failed (${res.status}): ${await res.text()}`);
}

const bearer = (token: string | undefined): Record<string, string> =>
  token ? { authorization: `Bearer ${token}` } : {};

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
