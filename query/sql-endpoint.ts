import { Hono } from "hono";
import { HttpError, readAuth, readBody, within } from "../common/index.js";
import { type Store, StoreError } from "../store/index.js";
import { contentTypeFor, ENGINE_FORMAT } from "./formats.js";
import { NativeFormatError, NativeTypeError, nativeForRevision } from "./native-blocks.js";

export interface SqlEndpointOptions {
  /** Bearer tokens accepted for reading; empty → no token needed. */
  readTokens: readonly string[];
  maxQueryBytes: number;
  /**
   * Makes every record acknowledged so far visible (ingest acknowledges once records are on local disk,
   * before they reach the store). Called for `?fresh=1`; the query runs when it resolves or `freshWaitMs`
   * passes, whichever is first.
   */
  flushIngest?: () => Promise<void>;
  freshWaitMs?: number;
}

/**
 * `GET|POST /sql`: analyst SQL against the store, read-only by the engine's `readonly` setting (not by
 * parsing SQL). Like ClickHouse's HTTP interface: the query in `?query=` and/or the body, `default_format`,
 * and `param_<name>` values for `{name:Type}` placeholders. `fresh=1` first waits for acknowledged records
 * to reach the store (read-your-writes), which the CLI asks for. `client_protocol_version` shapes Native
 * output as ClickHouse does for clients that send it (clickhouse-go, so Grafana's ClickHouse datasource);
 * other ClickHouse settings given as URL parameters (e.g. `max_execution_time`) are ignored: the read-only
 * connection's limits are fixed. `compress=1` (ClickHouse's own block compression) is refused.
 */
export function sqlRoutes(store: Store, options: SqlEndpointOptions): Hono {
  const app = new Hono();
  app.use("/sql", readAuth(options.readTokens, "read"));
  app.on(["GET", "POST"], "/sql", async (c) => {
    const url = new URL(c.req.url);
    const body =
      c.req.method === "POST"
        ? (
            await readBody(c, {
              maxBodyBytes: options.maxQueryBytes,
              maxDecompressedBytes: options.maxQueryBytes,
            })
          ).toString("utf8")
        : "";
    const sql = [url.searchParams.get("query") ?? "", body].filter((s) => s.trim() !== "").join("\n");
    if (sql === "")
      throw new HttpError(400, "missing_query", "send the SQL in ?query= or in the request body");
    if (Buffer.byteLength(sql) > options.maxQueryBytes) {
      throw new HttpError(413, "query_too_large", `the query is larger than ${options.maxQueryBytes} bytes`);
    }
    const defaultFormat = url.searchParams.get("default_format") ?? "TabSeparated";
    if (!ENGINE_FORMAT.test(defaultFormat)) {
      throw new HttpError(
        400,
        "bad_format",
        `default_format ${JSON.stringify(defaultFormat)} is not a format name`,
      );
    }
    // ClickHouse clients name the database (their default is "default"): this endpoint serves modelwatch's.
    const database = url.searchParams.get("database");
    if (database !== null && database !== "default" && database !== store.database)
      throw new HttpError(
        400,
        "unknown_database",
        `this endpoint reads database ${store.database}, not ${database}`,
      );
    const revision = Number(url.searchParams.get("client_protocol_version") ?? 0);
    if (!Number.isSafeInteger(revision) || revision < 0)
      throw new HttpError(400, "bad_protocol_version", "client_protocol_version must be a whole number");
    if (url.searchParams.get("compress") === "1")
      throw new HttpError(
        400,
        "compression_unsupported",
        "compress=1 (ClickHouse's compressed blocks) is not supported here; leave it unset (gzip over HTTP needs no setting)",
      );
    const params: Record<string, string> = {};
    for (const [key, value] of url.searchParams) {
      if (key.startsWith("param_")) params[key.slice("param_".length)] = value;
    }
    if (url.searchParams.get("fresh") === "1" && options.flushIngest)
      await within(options.flushIngest(), options.freshWaitMs ?? 2_000);
    try {
      const engineOut = await store.queryReadOnly({ sql, defaultFormat, params });
      const out =
        defaultFormat.toLowerCase() === "native" ? nativeForRevision(engineOut, revision) : engineOut;
      return new Response(new Uint8Array(out), {
        headers: { "content-type": contentTypeFor(defaultFormat), "content-length": String(out.length) },
      });
    } catch (err) {
      if (err instanceof NativeTypeError) throw new HttpError(400, "native_type", err.message);
      if (err instanceof NativeFormatError)
        throw new HttpError(
          400,
          "native_format",
          `${err.message} (does the query name a FORMAT other than Native?)`,
        );
      if (err instanceof StoreError && err.code === "READONLY") {
        throw new HttpError(403, "readonly", `${err.message} (this endpoint only reads)`);
      }
      if (err instanceof StoreError) throw new HttpError(400, "query_failed", err.message);
      throw err;
    }
  });
  return app;
}
