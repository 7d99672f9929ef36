import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import {
  BatchWriter,
  collectorRoutes,
  createCollectorMetrics,
  type FlushReport,
  Ingest,
  type PredictionListener,
} from "../collector/index.js";
import { errorResponse, HttpError } from "../common/index.js";
import { sqlRoutes } from "../query/index.js";
import { migrate, Store, type TableName } from "../store/index.js";
import { type Config, localUrl } from "./config.js";
import { startTelemetry, type Telemetry } from "./telemetry.js";

export interface RunningService {
  /** Base URL of the HTTP port, e.g. http://127.0.0.1:4318. */
  url: string;
  port: number;
  store: Store;
  /** Stops accepting, flushes what was accepted, and closes the store. Safe to call twice. */
  close(): Promise<void>;
}

export interface ServiceHooks {
  onPredictions?: PredictionListener;
  log?: (line: string) => void;
}

/** Builds every part from the config, wires them, and starts listening. */
export async function startService(
  config: Config,
  env: NodeJS.ProcessEnv,
  hooks: ServiceHooks = {},
): Promise<RunningService> {
  const log = hooks.log ?? ((line: string) => console.error(line));
  const telemetry = startTelemetry(env);
  const store = await Store.open({ ...config.clickhouse, dataDir: config.dataDir });
  try {
    await migrate(store, { retentionDays: config.retentionDays });
  } catch (err) {
    await store.close();
    await telemetry.shutdown();
    throw err;
  }
  const metrics = createCollectorMetrics(telemetry.meter);
  const writer = (table: TableName) =>
    new BatchWriter(
      (rows) => store.insertRows(table, rows),
      config.batch,
      (r: FlushReport) => {
        metrics.batchRecords.record(r.records, { table });
        metrics.insertDuration.record(r.durationMs / 1000, { table, outcome: r.error ? "error" : "ok" });
        if (r.error)
          log(`insert into ${table} failed: ${r.error instanceof Error ? r.error.message : String(r.error)}`);
      },
    );
  const predictions = writer("predictions");
  const labels = writer("labels");
  const ingest = new Ingest({
    predictions,
    labels,
    metrics,
    limits: {
      maxAttributesPerRecord: config.limits.maxAttributesPerRecord,
      maxFutureMs: config.limits.maxFutureMinutes * 60_000,
      maxPastMs: config.limits.maxPastDays * 86_400_000,
    },
    onPredictions: hooks.onPredictions,
  });

  let accepting = true;
  const app = new Hono();
  app.onError((err) => errorResponse(err));
  app.notFound((c) =>
    new HttpError(404, "not_found", `no route for ${c.req.method} ${c.req.path}`).toResponse(),
  );
  app.get("/healthz", (c) => c.text("ok"));
  app.get("/readyz", async (c) => {
    const ready = accepting && (await store.ping().catch(() => false));
    return c.text(ready ? "ready" : "not ready", ready ? 200 : 503);
  });
  app.get("/metrics", async (c) =>
    c.text(await telemetry.scrape(), 200, { "content-type": "text/plain; version=0.0.4" }),
  );
  app.route(
    "/",
    collectorRoutes(ingest, metrics, {
      body: {
        maxBodyBytes: config.limits.maxBodyBytes,
        maxDecompressedBytes: config.limits.maxDecompressedBytes,
      },
      ingestTokens: config.ingestTokens,
      retryAfterSeconds: 2,
    }),
  );
  app.route("/", sqlRoutes(store, { readTokens: config.readTokens, maxQueryBytes: 1024 * 1024 }));

  const server = await listen(app, config.host, config.httpPort);
  const port = (server.address() as AddressInfo).port;
  log(
    `modelwatch listening on http://${config.host}:${port} (${store.mode} store${store.mode === "embedded" ? ` at ${config.dataDir}` : ""})`,
  );

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= shutdown(server, [predictions, labels], telemetry, store, () => {
      accepting = false;
    });
    return closing;
  };
  return { url: localUrl(config.host, port), port, store, close };
}

function listen(app: Hono, hostname: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname, port }, () => resolve(server));
    server.once("error", reject);
  });
}

/** The shutdown order, written out: stop accepting → flush writers → stop telemetry → close the store. */
async function shutdown(
  server: ServerType,
  writers: BatchWriter[],
  telemetry: Telemetry,
  store: Store,
  stopAccepting: () => void,
): Promise<void> {
  stopAccepting();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if ("closeIdleConnections" in server) server.closeIdleConnections();
  await Promise.all(writers.map((w) => w.shutdown()));
  // Requests still open have had their writes flushed; give them a moment to answer, then cut the rest.
  const forced = setTimeout(() => {
    if ("closeAllConnections" in server) server.closeAllConnections();
  }, 2_000);
  await closed;
  clearTimeout(forced);
  await telemetry.shutdown().catch(() => {});
  await store.close();
}
