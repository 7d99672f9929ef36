import type { ClickHouseSettings } from "@clickhouse/client";
import type { Store } from "./client.js";

/**
 * A SELECT's rows as objects (JSONEachRow), 64-bit integers as numbers: for reads of a few thousand rows at
 * most (results, schedules, pages), not for data the size of the event tables.
 */
export async function queryRows<T>(
  store: Store,
  sql: string,
  params: Record<string, unknown> = {},
  settings: ClickHouseSettings = {},
): Promise<T[]> {
  const rs = await store.client.query({
    query: sql,
    query_params: params,
    format: "JSONEachRow",
    clickhouse_settings: { ...settings, output_format_json_quote_64bit_integers: 0 },
  });
  return rs.json<T>();
}
