import { type DataSourceRef, type Panel, ThresholdsMode, type VariableModel } from "@grafana/schema";

/** The datasources the dashboards name, as provisioning/datasources/modelwatch.yaml defines them. */
export const CLICKHOUSE: DataSourceRef = {
  type: "grafana-clickhouse-datasource",
  uid: "modelwatch-clickhouse",
};
export const PROMETHEUS: DataSourceRef = { type: "prometheus", uid: "modelwatch-prometheus" };

/** Grafana's grid: 24 columns; each panel placed by the caller. */
export interface Place {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The ClickHouse plugin's query formats: 0 table, 1 time series. */
type Format = "table" | "time_series";

/** A ClickHouse target: raw SQL with the plugin's macros ($__timeFilter, $__timeInterval, …). */
export function sql(rawSql: string, format: Format = "time_series", refId = "A"): Record<string, unknown> {
  return {
    refId,
    datasource: CLICKHOUSE,
    editorType: "sql",
    format: format === "table" ? 1 : 0,
    queryType: format === "table" ? "table" : "timeseries",
    rawSql: rawSql.trim(),
  };
}

/** A Prometheus target: a PromQL expression, its legend. */
export function promql(expr: string, legendFormat: string, refId = "A"): Record<string, unknown> {
  return { refId, datasource: PROMETHEUS, expr, legendFormat, range: true };
}

let nextId = 1;

/** A panel of `type` reading `targets` from the first target's datasource. */
export function panel(
  type: string,
  title: string,
  at: Place,
  targets: Record<string, unknown>[],
  extra: Partial<Panel> = {},
): Panel {
  return {
    id: nextId++,
    type,
    title,
    gridPos: at,
    datasource: targets[0]?.datasource as DataSourceRef,
    targets,
    ...extra,
  };
}

/** Restarts panel ids, so each dashboard numbers its panels from 1. */
export function resetPanelIds(): void {
  nextId = 1;
}

/** A dashboard variable filled by a ClickHouse query (its values: the query's first column). */
export function variable(name: string, label: string, query: string): VariableModel {
  return {
    name,
    label,
    type: "query",
    datasource: CLICKHOUSE,
    query: query.trim(),
    refresh: 2,
    includeAll: false,
    multi: false,
    sort: 1,
  };
}

/** A unit for values between 0 and 1, shown as percentages, with thresholds at the alert rules' levels. */
export function ratio(red: number, yellow: number): Partial<Panel> {
  return {
    fieldConfig: {
      defaults: {
        unit: "percentunit",
        min: 0,
        max: 1,
        thresholds: {
          mode: ThresholdsMode.Absolute,
          steps: [
            { color: "red", value: null },
            { color: "yellow", value: red },
            { color: "green", value: yellow },
          ],
        },
      },
      overrides: [],
    },
  };
}
