import type { Dashboard, Panel, VariableModel } from "@grafana/schema";
import { panel, promql, ratio, resetPanelIds, sql, variable } from "./panels.js";

/**
 * modelwatch's Grafana dashboards, typed by @grafana/schema and written to JSON by write.ts (the JSON files
 * beside this one are generated: change this file, then `npm run dashboards`). History comes from the
 * ClickHouse datasource (the `metrics` table the analyzers write, and the raw predictions); live values
 * from Prometheus (what `/metrics` exports). Thresholds drawn on panels are the alert rules' thresholds.
 */

function dashboard(
  uid: string,
  title: string,
  description: string,
  variables: VariableModel[],
  panels: Panel[],
): Dashboard {
  return {
    uid,
    title,
    description,
    tags: ["modelwatch"],
    timezone: "utc",
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    time: { from: "now-24h", to: "now" },
    refresh: "1m",
    templating: { list: variables },
    annotations: { list: [] },
    panels,
  };
}

// Filters every model-dashboard query shares.
const MODEL_VERSION = "model = '${model}' AND model_version = '${version}'";
const MODEL_SCOPE = `${MODEL_VERSION} AND segment = '\${segment}'`;

function fleet(): Dashboard {
  resetPanelIds();
  return dashboard(
    "modelwatch-fleet",
    "modelwatch: fleet overview",
    "Every model at a glance: traffic, label coverage, accuracy, worst drift, ingest errors.",
    [],
    [
      panel("table", "Models in the time range", { x: 0, y: 0, w: 24, h: 7 }, [
        sql(
          `
SELECT model,
  sumIf(value, metric = 'count') AS predictions,
  round(sumIf(value, metric = 'labelled_count') / nullIf(sumIf(value, metric = 'count'), 0), 4) AS label_coverage,
  round(sumIf(value * sample_size, metric = 'accuracy') / nullIf(sumIf(sample_size, metric = 'accuracy'), 0), 4) AS accuracy,
  round(maxIf(value, metric = 'kl_divergence'), 4) AS worst_kl,
  countIf(status = 'alert') AS alerts
FROM metrics FINAL
WHERE $__timeFilter(window_start) AND segment = ''
GROUP BY model
ORDER BY model`,
          "table",
        ),
      ]),
      panel("timeseries", "Predictions per interval, by model", { x: 0, y: 7, w: 12, h: 8 }, [
        sql(`
SELECT $__timeInterval(time) AS t, model, count() AS predictions
FROM predictions
WHERE $__timeFilter(time)
GROUP BY t, model
ORDER BY t`),
      ]),
      panel(
        "timeseries",
        "Accuracy by model (labelled predictions, per window)",
        { x: 12, y: 7, w: 12, h: 8 },
        [
          sql(`
SELECT window_start AS t, model, sum(value * sample_size) / sum(sample_size) AS accuracy
FROM metrics FINAL
WHERE $__timeFilter(window_start) AND metric = 'accuracy' AND segment = '' AND sample_size > 0
GROUP BY t, model
ORDER BY t`),
        ],
        ratio(0.8, 0.9),
      ),
      panel("timeseries", "Worst feature KL divergence by model", { x: 0, y: 15, w: 12, h: 8 }, [
        sql(`
SELECT window_start AS t, model, max(value) AS worst_kl
FROM metrics FINAL
WHERE $__timeFilter(window_start) AND metric = 'kl_divergence' AND segment = ''
GROUP BY t, model
ORDER BY t`),
      ]),
      panel(
        "timeseries",
        "Label coverage by model",
        { x: 12, y: 15, w: 12, h: 8 },
        [
          sql(`
SELECT window_start AS t, model,
  sumIf(value, metric = 'labelled_count') / nullIf(sumIf(value, metric = 'count'), 0) AS label_coverage
FROM metrics FINAL
WHERE $__timeFilter(window_start) AND metric IN ('count', 'labelled_count') AND segment = ''
GROUP BY t, model
ORDER BY t`),
        ],
        ratio(0.2, 0.5),
      ),
      panel("timeseries", "Ingest rejections per second, by reason (live)", { x: 0, y: 23, w: 12, h: 7 }, [
        promql("sum by (reason) (rate(modelwatch_records_rejected_total[5m]))", "{{reason}}"),
      ]),
      panel("stat", "Minutes since the newest prediction (live)", { x: 12, y: 23, w: 12, h: 7 }, [
        promql("(time() - max by (model) (modelwatch_last_prediction_timestamp_seconds)) / 60", "{{model}}"),
      ]),
    ],
  );
}

function model(): Dashboard {
  resetPanelIds();
  return dashboard(
    "modelwatch-model",
    "modelwatch: one model",
    "One model version, window by window: quality, confusion, class mix, drift per feature, latency.",
    [
      variable("model", "Model", "SELECT DISTINCT model FROM predictions ORDER BY model"),
      variable(
        "version",
        "Version",
        "SELECT DISTINCT model_version FROM predictions WHERE model = '${model}' ORDER BY model_version",
      ),
      variable(
        "segment",
        "Segment ('' is all traffic)",
        "SELECT DISTINCT segment FROM metrics WHERE model = '${model}' ORDER BY segment",
      ),
    ],
    [
      panel(
        "timeseries",
        "Accuracy, macro precision / recall / F1",
        { x: 0, y: 0, w: 16, h: 8 },
        [
          sql(`
SELECT window_start AS t, metric, value
FROM metrics FINAL
WHERE $__timeFilter(window_start) AND ${MODEL_SCOPE} AND subject = ''
  AND metric IN ('accuracy', 'precision_macro', 'recall_macro', 'f1_macro')
ORDER BY t`),
        ],
        ratio(0.8, 0.9),
      ),
      panel(
        "stat",
        "Accuracy, newest window (live)",
        { x: 16, y: 0, w: 8, h: 8 },
        [promql('modelwatch_accuracy{model="$model", version="$version"}', "{{version}}")],
        ratio(0.8, 0.9),
      ),
      panel("table", "Confusion matrix (labelled predictions in the range)", { x: 0, y: 8, w: 12, h: 9 }, [
        sql(
          `
SELECT splitByChar('|', subject)[1] AS predicted, splitByChar('|', subject)[2] AS actual, sum(value) AS predictions
FROM metrics FINAL
WHERE $__timeFilter(window_start) AND ${MODEL_SCOPE} AND metric = 'confusion'
GROUP BY predicted, actual
ORDER BY predicted, actual`,
          "table",
        ),
      ]),
      panel(
        "barchart",
        "Predicted vs actual classes (labelled predictions in the range)",
        { x: 12, y: 8, w: 12, h: 9 },
        [
          sql(
            `
SELECT class, sumIf(n, side = 'predicted') AS predicted, sumIf(n, side = 'actual') AS actual
FROM (
  SELECT splitByChar('|', subject)[1] AS class, 'predicted' AS side, value AS n
  FROM metrics FINAL
  WHERE $__timeFilter(window_start) AND ${MODEL_SCOPE} AND metric = 'confusion'
  UNION ALL
  SELECT splitByChar('|', subject)[2] AS class, 'actual' AS side, value AS n
  FROM metrics FINAL
  WHERE $__timeFilter(window_start) AND ${MODEL_SCOPE} AND metric = 'confusion'
)
GROUP BY class
ORDER BY class`,
            "table",
          ),
        ],
      ),
      panel(
        "heatmap",
        "KL divergence per feature and window",
        { x: 0, y: 17, w: 24, h: 9 },
        [
          sql(`
SELECT window_start AS t, subject AS feature, value AS kl
FROM metrics FINAL
WHERE $__timeFilter(window_start) AND ${MODEL_VERSION} AND segment = '' AND metric = 'kl_divergence'
ORDER BY t, feature`),
        ],
        { options: { calculate: false, yAxis: { axisPlacement: "left" }, color: { scheme: "Oranges" } } },
      ),
      panel(
        "timeseries",
        "Serving latency quantiles (ms)",
        { x: 0, y: 26, w: 24, h: 8 },
        [
          sql(`
SELECT $__timeInterval(time) AS t,
  quantile(0.5)(latency_ms) AS p50, quantile(0.95)(latency_ms) AS p95, quantile(0.99)(latency_ms) AS p99
FROM predictions
WHERE $__timeFilter(time) AND ${MODEL_VERSION} AND isNotNull(latency_ms)
GROUP BY t
ORDER BY t`),
        ],
        { fieldConfig: { defaults: { unit: "ms" }, overrides: [] } },
      ),
    ],
  );
}

function shadow(): Dashboard {
  resetPanelIds();
  const candidateMetric = (metric: string) => `
SELECT window_start AS t, model_version AS version, value
FROM metrics FINAL
WHERE $__timeFilter(window_start) AND model = '\${model}' AND segment = ''
  AND metric = '${metric}' AND subject = '\${candidate}'
ORDER BY t`;
  return dashboard(
    "modelwatch-shadow",
    "modelwatch: shadow comparison",
    "A candidate model run on production's traffic: agreement, drift between the two, quality delta, latency.",
    [
      variable("model", "Model", "SELECT DISTINCT model FROM shadow_predictions ORDER BY model"),
      variable(
        "candidate",
        "Candidate",
        "SELECT DISTINCT candidate FROM shadow_predictions WHERE model = '${model}' ORDER BY candidate",
      ),
    ],
    [
      panel(
        "timeseries",
        "Agreement with production",
        { x: 0, y: 0, w: 12, h: 8 },
        [sql(candidateMetric("shadow_agreement"))],
        ratio(0.9, 0.95),
      ),
      panel("timeseries", "KL divergence, candidate against production", { x: 12, y: 0, w: 12, h: 8 }, [
        sql(candidateMetric("shadow_kl_divergence")),
      ]),
      panel(
        "timeseries",
        "Accuracy delta (candidate − production, same predictions)",
        { x: 0, y: 8, w: 12, h: 8 },
        [sql(candidateMetric("shadow_accuracy_delta"))],
        { fieldConfig: { defaults: { unit: "percentunit" }, overrides: [] } },
      ),
      panel(
        "timeseries",
        "Candidate inference latency quantiles (ms)",
        { x: 12, y: 8, w: 12, h: 8 },
        [
          sql(`
SELECT $__timeInterval(time) AS t,
  quantile(0.5)(latency_ms) AS p50, quantile(0.99)(latency_ms) AS p99
FROM shadow_predictions
WHERE $__timeFilter(time) AND model = '\${model}' AND candidate = '\${candidate}'
GROUP BY t
ORDER BY t`),
        ],
        { fieldConfig: { defaults: { unit: "ms" }, overrides: [] } },
      ),
      panel(
        "stat",
        "Agreement, newest window (live)",
        { x: 0, y: 16, w: 24, h: 6 },
        [promql('modelwatch_shadow_agreement{model="$model", candidate="$candidate"}', "{{version}}")],
        ratio(0.9, 0.95),
      ),
    ],
  );
}

/** Each dashboard by the file it is provisioned from. */
export const DASHBOARDS: Readonly<Record<string, Dashboard>> = {
  "modelwatch-fleet.json": fleet(),
  "modelwatch-model.json": model(),
  "modelwatch-shadow.json": shadow(),
};

/** A dashboard as its JSON file holds it. */
export function dashboardJson(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}
