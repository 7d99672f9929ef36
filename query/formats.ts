/** The CLI's output formats and the engine formats that render them. */
export const OUTPUT_FORMATS = {
  table: "PrettyCompactMonoBlock",
  tsv: "TabSeparatedWithNames",
  csv: "CSVWithNames",
  json: "JSONEachRow",
} as const;
export type OutputFormat = keyof typeof OUTPUT_FORMATS;

/** Engine format names are plain words; anything else is refused before it reaches a query. */
export const ENGINE_FORMAT = /^[A-Za-z][A-Za-z0-9]*$/;

/** The Content-Type an engine format's output is served with. */
export function contentTypeFor(format: string): string {
  const f = format.toLowerCase();
  if (f.startsWith("json")) return "application/json; charset=utf-8";
  if (f.startsWith("csv")) return "text/csv; charset=utf-8";
  if (f.startsWith("tabseparated") || f.startsWith("tsv")) return "text/tab-separated-values; charset=utf-8";
  if (/^(native|rowbinary|parquet|arrow|orc|avro|msgpack)/.test(f)) return "application/octet-stream";
  return "text/plain; charset=utf-8";
}
