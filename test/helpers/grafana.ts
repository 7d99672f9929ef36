/**
 * What Grafana and its ClickHouse plugin (grafana-clickhouse-datasource v4) do to a panel's SQL before it
 * reaches the database: Grafana interpolates the dashboard's variables (`$name`, `${name}`), then the plugin
 * expands its macros, as its pkg/macros documents them: `$__timeFilter(c)` → `c >= toDateTime(<from s>) AND
 * c <= toDateTime(<to s>)`, `$__timeFilter_ms(c)` the same with fromUnixTimestamp64Milli(<ms>),
 * `$__fromTime` / `$__toTime` → toDateTime(<s>), `$__timeInterval(c)` →
 * `toStartOfInterval(toDateTime(c), INTERVAL <interval s> second)`, `$__interval_s` → the interval in
 * seconds (at least 1).
 */
export interface PanelContext {
  fromMs: number;
  toMs: number;
  intervalS: number;
  variables: Record<string, string>;
}

export function expandPanelSql(sql: string, c: PanelContext): string {
  let out = sql;
  for (const [name, value] of Object.entries(c.variables))
    out = out.replaceAll(`\${${name}}`, value).replace(new RegExp(`\\$${name}\\b`, "g"), value);
  const fromS = Math.floor(c.fromMs / 1000);
  const toS = Math.floor(c.toMs / 1000);
  const interval = Math.max(1, Math.floor(c.intervalS));
  out = out
    .replace(
      /\$__timeFilter_ms\(([^)]+)\)/g,
      (_, col: string) =>
        `${col} >= fromUnixTimestamp64Milli(${c.fromMs}) AND ${col} <= fromUnixTimestamp64Milli(${c.toMs})`,
    )
    .replace(
      /\$__timeFilter\(([^)]+)\)/g,
      (_, col: string) => `${col} >= toDateTime(${fromS}) AND ${col} <= toDateTime(${toS})`,
    )
    .replace(
      /\$__timeInterval\(([^)]+)\)/g,
      (_, col: string) => `toStartOfInterval(toDateTime(${col}), INTERVAL ${interval} second)`,
    )
    .replaceAll("$__fromTime_ms", `fromUnixTimestamp64Milli(${c.fromMs})`)
    .replaceAll("$__toTime_ms", `fromUnixTimestamp64Milli(${c.toMs})`)
    .replaceAll("$__fromTime", `toDateTime(${fromS})`)
    .replaceAll("$__toTime", `toDateTime(${toS})`)
    .replaceAll("$__interval_s", String(interval));
  if (/\$\w/.test(out)) throw new Error(`a variable or macro was left unexpanded in:\n${out}`);
  return out;
}

/** The metric names a PromQL expression reads (`modelwatch_…`). */
export function promMetricNames(expr: string): string[] {
  return [...new Set(expr.match(/\bmodelwatch_[a-z_]+/g) ?? [])];
}
