import {
  type AnalysisReport,
  type AnalyzeRequest,
  Analyzer,
  DEFAULT_ANALYSIS,
  type StoredMetric,
  storedMetrics,
} from "../analyzers/index.js";
import { CliError, localFetch, serviceAnswers, textTable, withOwnStore } from "./cli-support.js";
import { type Config, localUrl } from "./config.js";

/**
 * `modelwatch analyze`: recomputes the windows asked for and prints their metrics. With a service running
 * the service does it (it owns the embedded store); with none the command opens the store itself.
 */
export async function runAnalyze(request: AnalyzeRequest, json: boolean, config: Config): Promise<string> {
  const base = localUrl(config.host, config.httpPort, config.tls !== undefined);
  const ca = config.tls?.cert;
  const result = (await serviceAnswers(base, ca))
    ? await viaService(base, request, config.readTokens[0], ca)
    : await direct(request, config, base);
  return json ? `${JSON.stringify(result, null, 2)}\n` : summaryTable(result.report, result.metrics);
}

interface AnalyzeResult {
  report: AnalysisReport;
  metrics: StoredMetric[];
}

function direct(request: AnalyzeRequest, config: Config, base: string): Promise<AnalyzeResult> {
  return withOwnStore(config, base, async (store) => {
    const report = await new Analyzer(store, { ...DEFAULT_ANALYSIS, ...config.analysis }).analyze(request);
    return { report, metrics: await storedMetrics(store, request) };
  });
}

async function viaService(
  base: string,
  request: AnalyzeRequest,
  token: string | undefined,
  ca: string | undefined,
): Promise<AnalyzeResult> {
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  const res = await localFetch(
    `${base}/analyze`,
    {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ models: request.models, from: iso(request.fromMs), to: iso(request.toMs) }),
    },
    ca,
  );
  const body = (await res.json().catch(() => ({}))) as Partial<AnalyzeResult> & {
    error?: { message: string };
  };
  if (!res.ok || !body.report || !body.metrics)
    throw new CliError(
      `the service at ${base} refused the analysis (${res.status}): ${body.error?.message ?? ""}`,
    );
  return { report: body.report, metrics: body.metrics };
}

/** One line per model version and window: traffic, labels, quality, and the feature that drifted most. */
export function summaryTable(report: AnalysisReport, metrics: readonly StoredMetric[]): string {
  const windows = new Map<string, StoredMetric[]>();
  for (const m of metrics) {
    if (m.segment !== "") continue;
    const id = `${m.model}\u0000${m.modelVersion}\u0000${m.windowStart}`;
    const list = windows.get(id) ?? [];
    list.push(m);
    windows.set(id, list);
  }
  const header = [
    "window",
    "model",
    "version",
    "count",
    "labelled",
    "accuracy",
    "f1_macro",
    "mae",
    "max drift (KL)",
    "status",
  ];
  const lines = [...windows.values()].map((ms) => {
    const get = (metric: string) => ms.find((m) => m.metric === metric && m.subject === "");
    const fmt = (m: StoredMetric | undefined, digits = 3) => (m ? m.value.toFixed(digits) : "-");
    const drift = ms.filter((m) => m.metric === "kl_divergence").sort((a, b) => b.value - a.value)[0];
    const worst = ms.some((m) => m.status === "alert")
      ? "alert"
      : ms.some((m) => m.status === "warn")
        ? "warn"
        : "ok";
    const first = ms[0] as StoredMetric;
    return [
      first.windowStart,
      first.model,
      first.modelVersion || "-",
      fmt(get("count"), 0),
      get("label_coverage") ? `${((get("label_coverage") as StoredMetric).value * 100).toFixed(0)}%` : "-",
      fmt(get("accuracy")),
      fmt(get("f1_macro")),
      fmt(get("mae")),
      drift ? `${drift.value.toFixed(3)} ${drift.subject}` : "-",
      worst,
    ];
  });
  const footer = `${report.windows} window(s) of ${report.versions} model version(s) computed in ${Math.round(report.durationMs)} ms; ${report.rows} metric rows`;
  return `${textTable(header, lines)}${footer}\n`;
}
