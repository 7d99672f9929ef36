/**
 * npm run bench:tap — what the tap proxy adds to a model server's round trip. A local upstream answers a
 * TF Serving :predict of 8 instances at once; the load calls it directly and through the tap (inside a
 * `serve` child, recording every call into its embedded store) at 2,000 requests/s each (BENCH_TAP_RATE),
 * for BENCH_TAP_SECONDS each, in alternating phases of BENCH_TAP_PHASE_MS (so that whatever else the
 * machine does falls on both sides alike), and prints p50 / p90 / p99 / p99.9 (`p999`) of both and the
 * difference, and the serve child's CPU per call through the tap (its main thread, its other threads by
 * name, all of it): the machine this runs on may be shared, so latency alone can mislead. The load and the
 * upstream speak HTTP over raw TCP (raw-http.ts) so that they take little of the CPU the proxy is measured on.
 */
import { readdirSync, readFileSync } from "node:fs";
import { quantile } from "./load.js";
import { RawClient, startRawUpstream } from "./raw-http.js";
import { startServeChild } from "./serve-child.js";
import { tempDirectory } from "./temp.js";

const RATE = Number(process.env.BENCH_TAP_RATE ?? 2_000);
const SECONDS = Number(process.env.BENCH_TAP_SECONDS ?? 10);
const PHASE_MS = Number(process.env.BENCH_TAP_PHASE_MS ?? 500);
const INSTANCES = 8;

const BODY = Buffer.from(
  JSON.stringify({
    instances: Array.from({ length: INSTANCES }, (_, i) => ({ tenure: i, spend: i * 1.5, plan: "pro" })),
  }),
);
const ANSWER = JSON.stringify({ predictions: Array.from({ length: INSTANCES }, () => [0.3, 0.7]) });

function predictRequest(port: number): Buffer {
  return Buffer.concat([
    Buffer.from(
      `POST /v1/models/churn:predict HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: ${BODY.length}\r\n\r\n`,
    ),
    BODY,
  ]);
}

/** Calls at a fixed rate for `ms` (each started on its schedule, answered or not); their latencies in ms. */
async function paced(client: RawClient, ms: number): Promise<number[]> {
  const total = Math.round((RATE * ms) / 1000);
  const start = performance.now();
  const calls: Promise<number>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / RATE - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    calls.push(client.call());
  }
  return Promise.all(calls);
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU used so far by each thread of a process, in ms, summed by thread name (its main thread as "main"). */
function threadCpuMs(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    // pid (comm) state ... : comm may hold spaces, so the fields are counted after its closing parenthesis.
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
    const name = tid === String(pid) ? "main" : stat.slice(stat.indexOf("(") + 1, close);
    byName.set(name, (byName.get(name) ?? 0) + ms);
  }
  return byName;
}

/** Per-call CPU (µs) between two readings, by thread name, largest first, with the total. */
function cpuPerCall(before: Map<string, number>, after: Map<string, number>, calls: number): string[] {
  const used = [...after].map(([name, ms]) => [name, ms - (before.get(name) ?? 0)] as const);
  const total = used.reduce((sum, [, ms]) => sum + ms, 0);
  return [
    `tap_serve_cpu_per_call: ${((total * 1000) / calls).toFixed(0)} us`,
    ...used
      .filter(([, ms]) => ms > 0)
      .sort((a, b) => b[1] - a[1])
      .map(
        ([name, ms]) => `tap_serve_cpu_per_call{thread="${name}"}: ${((ms * 1000) / calls).toFixed(0)} us`,
      ),
  ];
}

/**
 * The predictions stored, once all `expected` are or the count stops growing for 2 s: recording follows
 * the answers, and may still be catching up when the load ends.
 */
async function storedOnceSettled(url: string, expected: number): Promise<number> {
  let last = -1;
  let since = performance.now();
  for (;;) {
    const res = await fetch(`${url}/sql?fresh=1`, {
      method: "POST",
      body: "SELECT count() FROM predictions",
    });
    const text = (await res.text()).trim();
    const n = Number(text);
    if (!res.ok || !Number.isInteger(n))
      throw new Error(`counting the stored predictions: ${res.status} ${text}`);
    if (n >= expected || (n === last && performance.now() - since > 2_000)) return n;
    if (n !== last) [last, since] = [n, performance.now()];
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  const upstream = await startRawUpstream(ANSWER);
  const dir = tempDirectory("modelwatch-bench-tap-");
  const serve = await startServeChild(
    ["--tap-upstream", `http://127.0.0.1:${upstream.port}`, "--tap-port", "0"],
    {
      ...process.env,
      MODELWATCH_DATA_DIR: dir.path,
    },
  ).catch((err: unknown) => {
    // The upstream's listener would keep this process running after the error is reported.
    upstream.server.close();
    dir.remove();
    throw err;
  });
  const tapPort = Number(/tap proxy listening on [^\s]+:(\d+)/.exec(serve.log())?.[1]);
  const directClient = new RawClient(upstream.port, predictRequest(upstream.port));
  const tapClient = new RawClient(tapPort, predictRequest(tapPort));
  try {
    await paced(tapClient, 1_000); // warm-up
    await paced(directClient, 1_000);
    const pid = serve.child.pid as number;
    const direct: number[] = [];
    const tapped: number[] = [];
    const cpu = new Map<string, number>();
    let ownCpuUs = 0;
    for (let p = 0; p < Math.round((SECONDS * 1000) / PHASE_MS); p++) {
      direct.push(...(await paced(directClient, PHASE_MS)));
      const before = threadCpuMs(pid);
      const own = process.cpuUsage();
      tapped.push(...(await paced(tapClient, PHASE_MS)));
      const used = process.cpuUsage(own);
      ownCpuUs += used.user + used.system;
      for (const [name, ms] of threadCpuMs(pid))
        cpu.set(name, (cpu.get(name) ?? 0) + ms - (before.get(name) ?? 0));
    }
    direct.sort((a, b) => a - b);
    tapped.sort((a, b) => a - b);
    for (const [name, q] of [
      ["p50", 0.5],
      ["p90", 0.9],
      ["p99", 0.99],
      ["p999", 0.999],
    ] as const) {
      const d = quantile(direct, q);
      const t = quantile(tapped, q);
      console.log(`tap_direct_${name}: ${d.toFixed(2)} ms`);
      console.log(`tap_proxy_${name}: ${t.toFixed(2)} ms`);
      console.log(`tap_added_${name}: ${(t - d).toFixed(2)} ms`);
    }
    console.log(`tap_rate: ${RATE} requests/s of ${INSTANCES} instances`);
    console.log(`tap_connections_opened: ${tapClient.opened} through the tap, ${directClient.opened} direct`);
    for (const line of cpuPerCall(new Map(), cpu, tapped.length)) console.log(line);
    console.log(
      `tap_bench_cpu_per_call: ${(ownCpuUs / tapped.length).toFixed(0)} us (this process: load and upstream)`,
    );
    const sentThroughTap = tapped.length * INSTANCES + Math.round(RATE * INSTANCES);
    console.log(
      `tap_recorded: ${await storedOnceSettled(serve.url, sentThroughTap)} of ${sentThroughTap} predictions`,
    );
    // What the tap counted, and what it could not record (a full queue, a failed write).
    const metrics = await (await fetch(`${serve.url}/metrics`)).text();
    for (const m of metrics.matchAll(
      /^modelwatch_(?:tap_calls_total|records_rejected_total)\{[^}]*(?:outcome|signal="tap",reason)="([^"]+)"[^}]*\} (\d+)$/gm,
    ))
      console.log(`tap_outcome{${m[1]}}: ${m[2]}`);
  } finally {
    directClient.close();
    tapClient.close();
    serve.child.kill("SIGTERM");
    await new Promise((r) => serve.child.once("exit", r));
    upstream.server.close();
    dir.remove();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
