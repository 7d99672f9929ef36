/**
 * npm run bench:overload — a load twice what the store takes. A `modelwatch serve` child first takes a closed
 * loop of OTLP/HTTP protobuf batches (500 records, 20 features each) to measure what it sustains into the
 * store; then this process offers twice that on a fixed schedule (open loop, up to 2,048 requests
 * outstanding) for BENCH_SECONDS (15). Prints, one a line: the rates, how the requests were answered, the
 * records acknowledged, stored and lost (must be 0), and the server's resident memory before and at its
 * peak under the overload: memory must stay bounded (the spool and the in-flight bound refuse with 503).
 */
import { closedLoop, count, openLoop, post, rssMb, storedAtLeast } from "./load.js";
import { predictionBodies } from "./otlp-workload.js";
import { startServeChild } from "./serve-child.js";
import { tempDirectory } from "./temp.js";

const RECORDS_PER_BODY = 500;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const MAX_OUTSTANDING = 2048;

async function main(): Promise<void> {
  const bodies = predictionBodies({ bodies: 40, recordsPerBody: RECORDS_PER_BODY, features: 20 });
  const dir = tempDirectory("modelwatch-bench-overload-");
  const { child: server, url } = await startServeChild([], { ...process.env, MODELWATCH_DATA_DIR: dir.path });
  try {
    for (const body of bodies.slice(0, 6)) await post(url, body); // warm-up
    let acknowledged = 6 * RECORDS_PER_BODY;
    // What the store takes: records stored per second under a closed loop.
    const measured = await closedLoop(url, bodies, RECORDS_PER_BODY, 10, 16);
    acknowledged += measured.records;
    await storedAtLeast(url, acknowledged);
    const takes = measured.records / ((performance.now() - measured.start) / 1000);
    console.log(`store_takes: ${Math.round(takes)} records/s`);

    const before = rssMb(server, "VmRSS");
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(server, "VmRSS"));
    }, 50);
    const run = await openLoop(url, bodies, RECORDS_PER_BODY, 2 * takes, SECONDS, MAX_OUTSTANDING);
    clearInterval(sampler);
    const answered = (status: number) => run.statuses.get(status) ?? 0;
    acknowledged += answered(200) * RECORDS_PER_BODY;
    const drainMs = await storedAtLeast(url, acknowledged);
    const stored = await count(url);
    // As sent: this process may fall behind its schedule when the machine is saturated.
    const offered = ((run.started + run.skipped) * RECORDS_PER_BODY) / run.sendSeconds;
    console.log(`overload_offered: ${Math.round(offered)} records/s`);
    console.log(`overload_offered_vs_store: ${(offered / takes).toFixed(2)} ratio`);
    console.log(`overload_requests_sent: ${run.started} requests`);
    console.log(`overload_requests_not_sent: ${run.skipped} requests`); // past MAX_OUTSTANDING
    console.log(`overload_answered_200: ${answered(200)} requests`);
    console.log(`overload_answered_503: ${answered(503)} requests`);
    const other = [...run.statuses].filter(([s]) => s !== 200 && s !== 503);
    console.log(`overload_answered_other: ${other.reduce((n, [, c]) => n + c, 0)} requests`);
    for (const [status, n] of other) console.log(`overload_answered_${status}: ${n} requests`);
    console.log(
      `overload_acknowledged_rate: ${Math.round((answered(200) * RECORDS_PER_BODY) / run.seconds)} records/s`,
    );
    console.log(`records_acknowledged: ${acknowledged} records`);
    console.log(`records_stored: ${stored} records`);
    console.log(`records_lost: ${Math.max(0, acknowledged - stored)} records`);
    console.log(`store_backlog_drained_after_load: ${Math.round(drainMs)} ms`);
    console.log(`server_rss_before_overload: ${Math.round(before)} MB`);
    console.log(`server_peak_rss_under_overload: ${Math.round(peak)} MB`);
  } finally {
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
    dir.remove();
  }
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => process.exit());
