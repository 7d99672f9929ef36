import type { ModelHealth, ModelView, Series } from "./data.js";

/** uPlot's script and stylesheet: linked from the service, or inlined into a self-contained report. */
export type Assets = { kind: "linked"; base: string } | { kind: "inline"; script: string; style: string };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a <script> element: no `</script>` or `<!--` can end or bend it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d232b;background:#fafbfc}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
a{color:#1f5fbf;text-decoration:none}.muted{color:#66707a}
.models{border-collapse:collapse}.models td,.models th{padding:6px 12px;border-bottom:1px solid #e3e6ea;text-align:left}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;font-size:12px}
.badge.healthy{background:#d9f2e1;color:#17663a}.badge.drifting{background:#fff0c2;color:#7a5600}
.badge.degraded{background:#fbd9d6;color:#9c1c12}
.chart{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:8px;margin:8px 0;max-width:980px}
.mix td{padding:2px 8px}.bar{height:12px;border-radius:3px;display:inline-block}
.bar.predicted{background:#5b8def}.bar.actual{background:#f0a35b}
.heat{border-collapse:collapse;font-size:12px}.heat td,.heat th{padding:3px 6px;border:1px solid #fff}
.heat th{font-weight:500;text-align:right}.heat td{min-width:18px}
.numbers{border-collapse:collapse;font-size:12px}.numbers td,.numbers th{padding:2px 8px;border-bottom:1px solid #eee}
`;

function page(title: string, body: string, assets: Assets, data?: unknown): string {
  const head =
    assets.kind === "linked"
      ? `<link rel="stylesheet" href="${assets.base}/assets/uplot.min.css"><script src="${assets.base}/assets/uplot.iife.min.js"></script>`
      : `<style>${assets.style}</style><script>${assets.script}</script>`;
  const dataScript =
    data === undefined
      ? ""
      : `<script type="application/json" id="mw-data">${scriptJson(data)}</script><script>${CHARTS}</script>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">${head}<style>${STYLE}</style></head>
<body>${body}${dataScript}</body></html>
`;
}

/** The models list: each model version's health in its newest window. */
export function overviewPage(models: readonly ModelHealth[], assets: Assets, base = ""): string {
  const row = (m: ModelHealth) => `<tr data-model="${escapeHtml(m.model)}">
<td><a href="${base}/models/${encodeURIComponent(m.model)}?version=${encodeURIComponent(m.version)}">${escapeHtml(m.model)}</a></td>
<td>${escapeHtml(m.version || "(none)")}</td>
<td><span class="badge ${m.health}">${m.health}</span></td>
<td class="muted">${new Date(m.windowStartMs).toISOString().slice(0, 16).replace("T", " ")} UTC</td>
<td>${m.predictions}</td>
<td class="muted">${escapeHtml(m.alerts.join(", "))}</td></tr>`;
  const body = `<h1>modelwatch</h1><p class="muted">Each model version's health: each of its metrics in its newest complete window; a quality metric counts once in alert two windows in a row.</p>
${
  models.length === 0
    ? "<p>No analysed windows yet: send predictions (see the README), or run <code>npm start -- --demo</code>.</p>"
    : `<table class="models"><tr><th>model</th><th>version</th><th>health</th><th>window</th><th>predictions</th><th>in alert</th></tr>${models.map(row).join("")}</table>`
}`;
  return page("modelwatch", body, assets);
}

const LABELS: Record<string, string> = {
  accuracy: "accuracy",
  recall_macro: "recall (macro)",
  f1_macro: "F1 (macro)",
  mae: "MAE",
  rmse: "RMSE",
};

/** What the chart script draws, as data: one entry per chart. */
interface ChartData {
  id: string;
  title: string;
  labels: string[];
  values: (number | null)[][];
}

function charts(view: ModelView): ChartData[] {
  const out: ChartData[] = [];
  if (view.quality.length > 0)
    out.push({
      id: "quality",
      title: view.quality.some((s) => s.metric === "accuracy") ? "Accuracy, recall and F1" : "Errors",
      labels: view.quality.map((s) => LABELS[s.metric] ?? s.metric),
      values: view.quality.map((s) => s.values),
    });
  if (view.latency.p50.some((v) => v !== null))
    out.push({
      id: "latency",
      title: "Serving latency (ms)",
      labels: ["p50", "p95"],
      values: [view.latency.p50, view.latency.p95],
    });
  if (view.shadow.length > 0)
    out.push({
      id: "shadow",
      title: "Shadow agreement with production",
      labels: view.shadow.map((s) => s.subject),
      values: view.shadow.map((s) => s.values),
    });
  return out;
}

/** Draws each chart with uPlot into its element; the data sits in #mw-data. */
const CHARTS = `(function(){
var d=JSON.parse(document.getElementById("mw-data").textContent);
var colors=["#1f5fbf","#d9822b","#2a9d5b","#b0413e","#7b4fbf","#6b7785"];
var x=d.windows.map(function(w){return w/1000;});
d.charts.forEach(function(c){
  var el=document.getElementById("chart-"+c.id);if(!el)return;
  var series=[{}].concat(c.labels.map(function(l,i){return {label:l,stroke:colors[i%colors.length],width:2,points:{show:true}};}));
  var u=new uPlot({title:c.title,width:Math.min(960,el.clientWidth||960),height:240,series:series,scales:{x:{time:true}}},[x].concat(c.values),el);
  el.setAttribute("data-series",c.labels.join("|"));
  el.setAttribute("data-rendered","true");
});
})();`;

function heatColor(value: number | null): string {
  if (value === null) return "#f1f3f5";
  // 0 → pale, 0.2 (the alert band) and above → deep orange.
  const t = Math.min(1, value / 0.2);
  const c = (a: number, b: number) => Math.round(a + (b - a) * t);
  return `rgb(${c(255, 217)},${c(245, 72)},${c(230, 1)})`;
}

function heatmap(view: ModelView): string {
  if (view.drift.length === 0)
    return '<p class="muted">No drift measured yet (the reference has no data).</p>';
  const hour = (w: number) => new Date(w).toISOString().slice(11, 16);
  const cells = (s: Series) =>
    s.values
      .map(
        (v, i) =>
          `<td style="background:${heatColor(v)}" title="${escapeHtml(s.subject)} ${hour(view.windows[i] as number)}: ${v === null ? "none" : v.toFixed(4)}" data-window="${view.windows[i]}" data-status="${s.statuses[i] ?? ""}"></td>`,
      )
      .join("");
  return `<table class="heat" id="heatmap"><tr><th></th>${view.windows.map((w) => `<th>${hour(w)}</th>`).join("")}</tr>
${view.drift.map((s) => `<tr data-feature="${escapeHtml(s.subject)}"><th>${escapeHtml(s.subject)}</th>${cells(s)}</tr>`).join("\n")}</table>`;
}

function classMix(view: ModelView): string {
  if (view.classMix.length === 0) return '<p class="muted">No labelled predictions in the range.</p>';
  const most = Math.max(...view.classMix.flatMap((m) => [m.predicted, m.actual]), 1);
  const bar = (kind: string, n: number) =>
    `<span class="bar ${kind}" style="width:${Math.round((240 * n) / most)}px"></span> ${n}`;
  return `<table class="mix" id="class-mix"><tr><th>class</th><th>predicted</th><th>actual</th></tr>${view.classMix
    .map(
      (m) =>
        `<tr data-class="${escapeHtml(m.cls)}"><td>${escapeHtml(m.cls)}</td><td>${bar("predicted", m.predicted)}</td><td>${bar("actual", m.actual)}</td></tr>`,
    )
    .join("")}</table>`;
}

function numbersTable(view: ModelView): string {
  return `<h2>The numbers</h2><table class="numbers" id="numbers"><tr><th>window</th><th>metric</th><th>subject</th><th>value</th><th>sample</th><th>status</th></tr>
${view.numbers
  .map(
    (n) =>
      `<tr><td>${n.window}</td><td>${escapeHtml(n.metric)}</td><td>${escapeHtml(n.subject)}</td><td>${n.value}</td><td>${n.sampleSize}</td><td>${n.status}</td></tr>`,
  )
  .join("\n")}</table>`;
}

/**
 * One model version over a range: quality, class mix, drift heatmap, latency and shadow agreement. The
 * report (`numbers`) adds every value behind the charts.
 */
export function modelPage(
  view: ModelView,
  assets: Assets,
  options: { base?: string; numbers?: boolean } = {},
): string {
  const base = options.base ?? "";
  const range = `${new Date(view.fromMs).toISOString()} – ${new Date(view.toMs).toISOString()}`;
  const chartData = charts(view);
  const chart = (id: string) =>
    chartData.some((c) => c.id === id) ? `<div class="chart" id="chart-${id}"></div>` : "";
  const versions = view.versions
    .map((v) =>
      v === view.version
        ? `<b>${escapeHtml(v)}</b>`
        : options.numbers
          ? escapeHtml(v)
          : `<a href="${base}/models/${encodeURIComponent(view.model)}?version=${encodeURIComponent(v)}">${escapeHtml(v)}</a>`,
    )
    .join(" · ");
  const body = `${options.numbers ? "" : `<p><a href="${base}/">← all models</a></p>`}
<h1>${escapeHtml(view.model)} <span class="muted">${escapeHtml(view.version)}</span></h1>
<p class="muted">${range}, ${view.windows.length} windows of ${view.windowMs / 60_000} min. Versions: ${versions}</p>
<h2>Quality</h2>${chart("quality") || '<p class="muted">No labelled windows yet.</p>'}
<h2>Predicted vs actual classes</h2>${classMix(view)}
<h2>Drift: KL divergence per feature and window</h2>${heatmap(view)}
<h2>Latency</h2>${chart("latency") || '<p class="muted">No latency reported.</p>'}
${view.shadow.length > 0 ? `<h2>Shadow candidates</h2>${chart("shadow")}` : ""}
${options.numbers ? numbersTable(view) : ""}`;
  return page(`${view.model} · modelwatch`, body, assets, { windows: view.windows, charts: chartData });
}
