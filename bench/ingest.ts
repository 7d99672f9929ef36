/**
 * npm run bench:ingest — OTLP/HTTP protobuf ingest into the embedded store.
 * A `modelwatch serve` child process on loopback takes batches of 500 records (20 features each) from this
 * process. Prints, one a line: sustained records/s (stored: the clock runs until the store holds every record
 * sent), p50/p99 request latency at half that rate, the server's peak RSS, and each stage's own rate measured
 * in this process (decode; decode + map + encode; engine insert).
 */
import { createRequire } from "node:module";
import { EventReader } from "../collector/event-reader.js";
import { decodeLogsRequest } from "../collector/otlp/logs-proto.js";
import type { RecordSink } from "../collector/record-sink.js";
import { migrate, Store } from "../store/index.js";
import { agent, closedLoop, count, openLoop, post, quantile, rssMb, storedAtLeast } from "./load.js";
import { predictionBodies } from "./otlp-workload.js";
import { startServeChild } from "./serve-child.js";
import { tempDirectory } from "./temp.js";

const RECORDS_PER_BODY = 500;
/** The sustained rate the ingest issue asks for. */
const BAR_RATE = 50_000;
const SUSTAIN_SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
/** Requests in flight, as from a fleet of exporters (each OTel batch processor sends one at a time). */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
/** Extra `serve` flags, to compare settings (e.g. BENCH_SERVE_ARGS="--decode-threads 2"). */
const SERVE_ARGS = (process.env.BENCH_SERVE_ARGS ?? "").split(" ").filter(Boolean);

async function main(): Promise<void> {
  const bodies = predictionBodies({ bodies: 40, recordsPerBody: RECORDS_PER_BODY, features: 20 });
  const { generic } = await stages(bodies);

  const dir = tempDirectory("modelwatch-bench-");
  const { child: server, url } = await startServeChild(SERVE_ARGS, {
    ...process.env,
    MODELWATCH_DATA_DIR: dir.path,
  });
  try {
    for (const body of bodies.slice(0, 6)) await post(url, body); // warm-up
    let sent = 6 * RECORDS_PER_BODY;
    await storedAtLeast(url, sent);
    // Sustained means stored, not merely acknowledged into the spool: the clock runs until the store has
    // every record the load sent.
    const sustained = await closedLoop(url, bodies, RECORDS_PER_BODY, SUSTAIN_SECONDS, CONCURRENCY);
    sent += sustained.records;
    const backlog = await storedAtLeast(url, sent);
    const seconds = (performance.now() - sustained.start) / 1000;
    const ingest = sustained.records / seconds;
    console.log(`ingest: ${Math.round(ingest)} records/s`);
    // Machine speed here varies between runs; protobufjs's decode alone, measured in this run, is the yardstick.
    console.log(`ingest_vs_generic_protobufjs_decode: ${(ingest / generic).toFixed(2)} ratio`);
    console.log(`ingest_acknowledged: ${Math.round(sustained.rate)} records/s`);
    console.log(`ingest_store_lag_after_load: ${Math.round(backlog)} ms`);
    console.log(`ingest_requests: ${sustained.requests} requests`);
    const half = sustained.records / seconds / 2;
    const paced = await openLoop(url, bodies, RECORDS_PER_BODY, half, 10);
    console.log(
      `ingest_rate_for_latency: ${Math.round((paced.started * RECORDS_PER_BODY) / paced.seconds)} records/s`,
    );
    console.log(`ingest_latency_p50_at_half_rate: ${quantile(paced.latencies, 0.5).toFixed(1)} ms`);
    console.log(`ingest_latency_p99_at_half_rate: ${quantile(paced.latencies, 0.99).toFixed(1)} ms`);
    // The bar: p99 at half of 50,000 records/s, whatever this run sustained.
    const atBar = await openLoop(url, bodies, RECORDS_PER_BODY, BAR_RATE / 2, 10);
    console.log(`ingest_latency_p50_at_${BAR_RATE / 2}: ${quantile(atBar.latencies, 0.5).toFixed(1)} ms`);
    console.log(`ingest_latency_p99_at_${BAR_RATE / 2}: ${quantile(atBar.latencies, 0.99).toFixed(1)} ms`);
    for (const run of [paced, atBar]) {
      if (run.latencies.length !== run.started) throw new Error("a paced request was not answered 200");
      sent += run.started * RECORDS_PER_BODY;
    }
    await storedAtLeast(url, sent);
    console.log(`server_peak_rss: ${Math.round(rssMb(server, "VmHWM"))} MB`);
    console.log(`records_sent_acknowledged: ${sent} records`);
    console.log(`records_stored: ${await count(url)} records`);
  } finally {
    agent.destroy();
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
    dir.remove();
  }
}

/** Each stage alone, in this process, on the same bodies. */
async function stages(bodies: Uint8Array[]): Promise<{ generic: number }> {
  const rounds = 10;
  let n = 0;
  const counting: RecordSink = {
    beginRecord: () => {},
    attribute: () => {},
    numberAttribute: () => {},
    endRecord: () => n++,
  };
  let t = performance.now();
  for (let r = 0; r < rounds; r++) for (const b of bodies) decodeLogsRequest(b, counting);
  const ours = n / ((performance.now() - t) / 1000);
  console.log(`stage_decode: ${Math.round(ours)} records/s`);
  // The same bodies through protobufjs code generated from opentelemetry-proto, for comparison.
  const generated = createRequire(import.meta.url)("otlp-proto-generated/build/src/generated/root.js");
  const Request = generated.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
  t = performance.now();
  let g = 0;
  for (let r = 0; r < rounds; r++) {
    for (const b of bodies)
      for (const rl of Request.decode(b).resourceLogs)
        for (const sl of rl.scopeLogs) g += sl.logRecords.length;
  }
  const generic = g / ((performance.now() - t) / 1000);
  console.log(`stage_generic_protobufjs_decode: ${Math.round(generic)} records/s`);
  console.log(`stage_decode_vs_generic: ${(ours / generic).toFixed(2)} ratio`);
  const limits = { maxAttributesPerRecord: 512, maxFutureMs: 3_600_000, maxPastMs: 86_400_000 * 90 };
  const encoded: Buffer[] = [];
  t = performance.now();
  n = 0;
  for (let r = 0; r < rounds; r++) {
    for (const b of bodies) {
      const reader = new EventReader("otlp-logs", limits, Date.now());
      decodeLogsRequest(b, reader);
      const rows = reader.predictions.bytes();
      n += reader.predictions.length;
      if (r === 0) encoded.push(Buffer.from(rows));
    }
  }
  console.log(`stage_decode_map_encode: ${Math.round(n / ((performance.now() - t) / 1000))} records/s`);

  const dir = tempDirectory("modelwatch-bench-stage-");
  const store = await Store.open({ database: "modelwatch", dataDir: dir.path });
  await migrate(store, { retentionDays: 90 });
  const batch = Buffer.concat(encoded.slice(0, 20)); // 10,000 rows per insert
  await store.insertRows("predictions", batch);
  t = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < 5; i++) await store.insertRows("predictions", batch);
  const used = process.cpuUsage(cpu);
  const rows = 5 * 20 * RECORDS_PER_BODY;
  console.log(`stage_engine_insert: ${Math.round(rows / ((performance.now() - t) / 1000))} records/s`);
  console.log(`stage_engine_insert_cpu: ${((used.user + used.system) / rows).toFixed(1)} us/record`);
  await store.close();
  dir.remove();
  return { generic };
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
