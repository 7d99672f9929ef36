import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import { analyzeRoutes } from "../analyzers/http/routes.js";
import { AnalysisScheduler, Analyzer, DEFAULT_ANALYSIS, observeAnalysis } from "../analyzers/index.js";
import {
  type CollectorMetrics,
  collectorRoutes,
  createCollectorMetrics,
  DecodePool,
  emptyCallReport,
  type GrpcReceiver,
  Ingest,
  inlineReader,
  kserveRoutes,
  observeSpool,
  type PredictionListener,
  Spool,
  type SpoolEvents,
  startGrpcReceiver,
} from "../collector/index.js";
import { errorResponse, HttpError, InflightBudget } from "../common/index.js";
import { sqlRoutes } from "../query/index.js";
import { shadowRoutes } from "../shadow/http/routes.js";
import {
  CandidateRegistry,
  createShadowMetrics,
  LiveMirror,
  type MirrorStats,
  observeMirrorQueue,
} from "../shadow/index.js";
import { migrate, Store } from "../store/index.js";
import { webRoutes } from "../web/index.js";
import { type Config, localUrl } from "./config.js";
import { startConfiguredTap } from "./tap-wiring.js";
import { startTelemetry, type Telemetry } from "./telemetry.js";

export interface RunningService {
  /** Base URL of the HTTP port, e.g. http://127.0.0.1:4318. */
  url: string;
  port: number;
  /** The OTLP/gRPC port. */
  grpcPort: number;
  /** The tap proxy's port, when one runs (--tap-upstream). */
  tapPort?: number;
  store: Store;
  /** The live shadow mirror's counts; `shadowFlushed` runs what waits and stores the answers. */
  shadowStats(): MirrorStats;
  shadowFlushed(): Promise<void>;
  /** Resolves once every record acknowledged so far is in the store. */
  flushed(): Promise<void>;
  /** Stops accepting, flushes what was accepted, and closes the store. Safe to call twice. */
  close(): Promise<void>;
}

export interface ServiceHooks {
  onPredictions?: PredictionListener;
  log?: (line: string) => void;
  /**
   * Fault injection for the reliability tests: called before each insert into the store; an error it
   * returns is thrown as that insert's failure (as an unreachable server would fail it).
   */
  insertFault?: () => Error | undefined;
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
  let shadow: Awaited<ReturnType<typeof startShadow>>;
  try {
    await migrate(store, { retentionDays: config.retentionDays });
    shadow = await startShadow(config, store, telemetry, log);
  } catch (err) {
    await store.close();
    await telemetry.shutdown();
    throw err;
  }
  const metrics = createCollectorMetrics(telemetry.meter);
  const spool = await Spool.open(
    {
      dir: config.spool.dir,
      maxBytes: config.spool.maxBytes,
      maxSegmentRecords: config.batch.maxBatchRecords,
      flushIntervalMs: config.batch.flushIntervalMs,
      replay: { initialBackoffMs: 250, maxBackoffMs: 30_000, maxInvalidAttempts: 10 },
    },
    async (table, rows, earlierAttemptAtMs) => {
      const started = performance.now();
      let outcome = "ok";
      try {
        const fault = hooks.insertFault?.();
        if (fault) throw fault;
        await store.insertRows(table, rows, { earlierAttemptAtMs });
      } catch (err) {
        outcome = "error";
        throw err;
      } finally {
        metrics.insertDuration.record((performance.now() - started) / 1000, { table, outcome });
      }
    },
    spoolEvents(metrics, log),
  );
  observeSpool(telemetry.meter, () => spool.bytes);
  const limits = {
    maxAttributesPerRecord: config.limits.maxAttributesPerRecord,
    maxFutureMs: config.limits.maxFutureMinutes * 60_000,
    maxPastMs: config.limits.maxPastDays * 86_400_000,
  };
  const pool =
    config.decodeThreads > 0
      ? new DecodePool({
          threads: config.decodeThreads,
          limits,
          onThreadExit: (err) => log(`a decode thread died and was replaced: ${String(err)}`),
        })
      : undefined;
  const listener = hooks.onPredictions;
  // The hook sees the rows first: the mirror may move their buffer to its worker.
  const onPredictions: PredictionListener = listener
    ? (rows, records) => {
        listener(rows, records);
        shadow.mirror.offer(rows, records);
      }
    : shadow.mirror.offer;
  const ingest = new Ingest({ reader: pool ?? inlineReader(limits), writer: spool, metrics, onPredictions });
  // What the tap records is read on a thread of its own at a lower priority: no sender waits on it, and on
  // busy cores the tap's thread and the senders' ingest come first (bench:tap's p99 fell by a third).
  const recordPool =
    config.tap.upstream && config.decodeThreads > 0
      ? new DecodePool({
          threads: 1,
          limits,
          threadName: "mw-record",
          nice: RECORD_NICE,
          onThreadExit: (err) => log(`the tap's reading thread died and was replaced: ${String(err)}`),
        })
      : undefined;
  const recordIngest = recordPool
    ? new Ingest({ reader: recordPool, writer: spool, metrics, onPredictions })
    : ingest;

  const analyzer = new Analyzer(store, { ...DEFAULT_ANALYSIS, ...config.analysis });
  const scheduler = new AnalysisScheduler(analyzer, store, config.analysis.intervalMs, {
    ran: (r) => {
      if (r.windows > 0)
        log(
          `analysis: ${r.windows} window(s) of ${r.versions} model version(s) in ${Math.round(r.durationMs)} ms`,
        );
    },
    failed: (err) => log(`analysis failed: ${err instanceof Error ? err.message : String(err)}`),
  });
  observeAnalysis(
    telemetry.meter,
    () => scheduler.latest,
    () => scheduler.lastPredictions,
  );

  const inflight = new InflightBudget(config.maxInflightBytes);
  let accepting = true;
  const app = new Hono();
  const internalError = (err: unknown) =>
    log(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  app.onError((err) => errorResponse(err, internalError));
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
      ratePerSecond: config.ingestRatePerSecond,
      inflight,
      retryAfterSeconds: 2,
      onInternalError: internalError,
    }),
  );
  const kserve = kserveRoutes(ingest, metrics, {
    body: {
      maxBodyBytes: config.limits.maxBodyBytes,
      maxDecompressedBytes: config.limits.maxDecompressedBytes,
    },
    ingestTokens: config.ingestTokens,
    maxPending: KSERVE_MAX_PENDING,
    pairTimeoutMs: KSERVE_PAIR_TIMEOUT_MS,
    mappings: config.inferenceMappings,
  });
  app.route("/", kserve.app);
  app.route(
    "/",
    sqlRoutes(store, {
      readTokens: config.readTokens,
      maxQueryBytes: 1024 * 1024,
      flushIngest: () => spool.flush(),
    }),
  );

  app.route(
    "/",
    analyzeRoutes(store, scheduler, { tokens: config.readTokens, flushIngest: () => spool.flush() }),
  );
  app.route(
    "/",
    shadowRoutes(store, shadow.registry, {
      readTokens: config.readTokens,
      writeTokens: config.ingestTokens,
      syncMirror: shadow.sync,
      live: () => ({ running: shadow.mirror.candidates, stats: shadow.mirror.snapshot() }),
      flushIngest: () => spool.flush(),
      onInternalError: internalError,
    }),
  );

  app.route("/", webRoutes(store, { readTokens: config.readTokens }));

  const server = await listen(app, config.host, config.httpPort, config.tls);
  let grpc: GrpcReceiver;
  try {
    grpc = await startGrpcReceiver(ingest, metrics, {
      host: config.host,
      port: config.grpcPort,
      tls: config.tls,
      ingestTokens: config.ingestTokens,
      maxMessageBytes: config.limits.maxDecompressedBytes,
      inflight,
      ratePerSecond: config.ingestRatePerSecond,
      retryAfterSeconds: 2,
      onInternalError: internalError,
    });
  } catch (err) {
    server.close();
    throw new Error(
      `cannot listen for OTLP/gRPC on ${config.host}:${config.grpcPort}: ${(err as Error).message}`,
    );
  }
  const tap = config.tap.upstream ? await startServeTap(config, recordIngest, metrics, log) : undefined;
  await scheduler.start();
  const port = (server.address() as AddressInfo).port;
  log(`OTLP/gRPC listening on ${config.host}:${grpc.port}${config.tls ? " (TLS)" : ""}`);
  log(
    `modelwatch listening on ${config.tls ? "https" : "http"}://${config.host}:${port} (${store.mode} store${store.mode === "embedded" ? ` at ${config.dataDir}` : ""})`,
  );

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= shutdown(
      server,
      grpc,
      scheduler,
      spool,
      [pool, recordPool],
      shadow.mirror,
      telemetry,
      store,
      log,
      async () => {
        accepting = false;
        kserve.close();
        await tap?.close();
      },
    );
    return closing;
  };
  return {
    url: localUrl(config.host, port, config.tls !== undefined),
    port,
    grpcPort: grpc.port,
    tapPort: tap?.port,
    store,
    flushed: () => spool.flush(),
    shadowStats: () => shadow.mirror.snapshot(),
    shadowFlushed: () => shadow.mirror.flush(),
    close,
  };
}

function listen(
  app: Hono,
  hostname: string,
  port: number,
  tls: { key: string; cert: string } | undefined,
): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const options = tls
      ? { fetch: app.fetch, hostname, port, createServer: createHttpsServer, serverOptions: tls }
      : { fetch: app.fetch, hostname, port };
    const server = serve(options, () => resolve(server));
    server.once("error", reject);
  });
}

/**
 * KServe's logger halves waiting for their other half: at most this many, for at most this long (a
 * response normally follows its request within the model's latency).
 */
const KSERVE_MAX_PENDING = 10_000;

/** The nice value of the thread reading what the tap records (the process's threads run at 0, the engine's at 10). */
const RECORD_NICE = 5;
const KSERVE_PAIR_TIMEOUT_MS = 60_000;

/** How long a stop waits for the spool to reach the store; what is left is replayed at the next start. */
const SHUTDOWN_REPLAY_MS = 10_000;

/**
 * The shutdown order, written out: stop accepting (HTTP, gRPC, KServe halves; the tap's calls in progress end
 * and their records reach the spool) → stop the analyzer schedule (a run in progress ends) →
 * make the spool's pending writes durable and replay what the deadline allows → let open requests answer →
 * stop the decode threads → run the shadow batches waiting and store their answers → stop telemetry →
 * close the store.
 */
async function shutdown(
  server: ServerType,
  grpc: GrpcReceiver,
  scheduler: AnalysisScheduler,
  spool: Spool,
  pools: ReadonlyArray<DecodePool | undefined>,
  mirror: LiveMirror,
  telemetry: Telemetry,
  store: Store,
  log: (line: string) => void,
  stopAccepting: () => Promise<void>,
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const grpcClosed = grpc.close();
  if ("closeIdleConnections" in server) server.closeIdleConnections();
  // The tap's calls in progress end and what it recorded reaches the spool before the spool stops.
  await stopAccepting();
  await scheduler.stop();
  const left = await spool.shutdown(SHUTDOWN_REPLAY_MS);
  if (left > 0) log(`${left} bytes stay in the spool; they are stored at the next start`);
  // Requests still open have had their writes made durable; give them a moment to answer, then cut the rest.
  const forced = setTimeout(() => {
    if ("closeAllConnections" in server) server.closeAllConnections();
  }, 2_000);
  await closed;
  await grpcClosed;
  clearTimeout(forced);
  for (const pool of pools) await pool?.close();
  await mirror.close();
  await telemetry.shutdown().catch(() => {});
  await store.close();
}

/**
 * The shadow runner: the candidates of the config file registered (a file that does not fit its spec stops
 * the start, with the reason), and the live mirror running every registered candidate.
 */
async function startShadow(
  config: Config,
  store: Store,
  telemetry: Telemetry,
  log: (line: string) => void,
): Promise<{
  registry: CandidateRegistry;
  mirror: LiveMirror;
  sync(): Promise<Array<{ name: string; message: string }>>;
}> {
  const registry = new CandidateRegistry(store, config.shadow.modelsDir);
  const mirror = new LiveMirror({
    modelsDir: config.shadow.modelsDir,
    queueRecords: config.shadow.queueRecords,
    batchRows: config.shadow.batchRows,
    batchDelayMs: config.shadow.batchDelayMs,
    insert: (rows) => store.insertRows("shadow_predictions", rows),
    metrics: createShadowMetrics(telemetry.meter),
    log,
  });
  observeMirrorQueue(telemetry.meter, () => mirror.queuedRecords);
  const sync = async () => {
    const specs = (await registry.list()).flatMap((r) => ("spec" in r ? [r.spec] : []));
    if (specs.length === 0 && mirror.candidates.length === 0) return [];
    const { running, refused } = await mirror.setCandidates(specs);
    for (const r of refused) log(`shadow candidate ${r.name} cannot run: ${r.message}`);
    if (running.length > 0) log(`shadow: running ${running.join(", ")} on live traffic`);
    return refused;
  };
  try {
    for (const spec of config.shadow.candidates)
      await (await registry.add(spec, { replace: true })).session.release();
    await sync();
  } catch (err) {
    await mirror.close();
    throw err;
  }
  return { registry, mirror, sync };
}

/**
 * The tap proxy inside `serve`: what it records goes to ingest directly (the same path as `/v1/events`, the
 * shadow mirror included), through a bounded recorder.
 */
async function startServeTap(
  config: Config,
  ingest: Ingest,
  metrics: CollectorMetrics,
  log: (line: string) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const upstream = config.tap.upstream as URL;
  const tap = await startConfiguredTap(config, upstream, {
    write: async (batch) => {
      const result = await ingest.ingest("inference-calls", batch, "tap");
      if (!result.ok) throw new Error(result.message);
      if (!result.write.ok) throw new Error(result.write.message);
      return result.calls ?? emptyCallReport();
    },
    dropped: (count, reason) => metrics.rejected.add(count, { signal: "tap", reason }),
    outcome: (outcome, count) => metrics.tapCalls.add(count, { outcome }),
    failed: (err) => log(`tap proxy stopped: ${err.message}`),
  });
  log(`tap proxy listening on ${config.host}:${tap.port}, in front of ${upstream.origin}`);
  return tap;
}

/** The spool's background events, as counters and log lines (one per failure, with the retry). */
function spoolEvents(metrics: CollectorMetrics, log: (line: string) => void): SpoolEvents {
  const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
  return {
    replayed: (_segment, records) => {
      for (const table of ["predictions", "labels"] as const)
        if (records[table] > 0) metrics.batchRecords.record(records[table], { table });
    },
    failed: (segment, err, attempt, retryInMs) => {
      metrics.replayFailures.add(1);
      log(
        `spool segment ${segment.name}: attempt ${attempt} failed (${message(err)}); retrying in ${retryInMs} ms`,
      );
    },
    damaged: (segment, validBytes) =>
      log(
        `spool segment ${segment.name}: bytes past ${validBytes} are not whole frames (a write cut short, never acknowledged); skipped`,
      ),
    quarantined: (segment, movedTo, err) => {
      metrics.quarantinedSegments.add(1);
      log(`spool segment ${segment.name} refused by the store (${message(err)}); moved to ${movedTo}`);
    },
    writeFailed: (err) => log(`spool write failed: ${message(err)}`),
  };
}
