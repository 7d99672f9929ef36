/**
 * npm run bench:tap — what the tap proxy adds to a model server's round trip. A local upstream answers a
 * TF Serving :predict of 8 instances at once; the load calls it directly and through the tap (inside a
 * `serve` child, recording every call into its embedded store) at 2,000 requests/s (BENCH_TAP_RATE), in
 * alternating phases of BENCH_TAP_SECONDS, and prints p50 / p99 of both and the difference, and the serve
 * child's CPU per call through the tap (its main thread, its other threads by name, all of it): the machine
 * this runs on may be shared, so latency alone can mislead.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { quantile } from "./load.js";
import { startServeChild } from "./serve-child.js";
import { tempDirectory } from "./temp.js";

const RATE = Number(process.env.BENCH_TAP_RATE ?? 2_000);
const SECONDS = Number(process.env.BENCH_TAP_SECONDS ?? 5);
const PHASES = 2;
const INSTANCES = 8;
const agent = new Agent({ keepAlive: true, maxSockets: 512 });

const BODY = Buffer.from(
  JSON.stringify({
    instances: Array.from({ length: INSTANCES }, (_, i) => ({ tenure: i, spend: i * 1.5, plan: "pro" })),
  }),
);
const ANSWER = JSON.stringify({ predictions: Array.from({ length: INSTANCES }, () => [0.3, 0.7]) });

function call(port: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/v1/models/churn:predict",
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": BODY.length },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          res.statusCode === 200
            ? resolve(performance.now() - started)
            : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(BODY);
  });
}

/** Calls at a fixed rate for `seconds`; the latency of each, in ms. */
async function paced(port: number, seconds: number): Promise<number[]> {
  const total = RATE * seconds;
  const start = performance.now();
  const calls: Promise<number>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / RATE - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    calls.push(call(port));
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
  const upstream = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(ANSWER);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const upstreamPort = (upstream.address() as AddressInfo).port;
  const dir = tempDirectory("modelwatch-bench-tap-");
  const serve = await startServeChild(
    ["--tap-upstream", `http://127.0.0.1:${upstreamPort}`, "--tap-port", "0"],
    {
      ...process.env,
      MODELWATCH_DATA_DIR: dir.path,
    },
  );
  try {
    const tapPort = Number(/tap proxy listening on [^\s]+:(\d+)/.exec(serve.log())?.[1]);
    await paced(tapPort, 1); // warm-up
    await paced(upstreamPort, 1);
    const pid = serve.child.pid as number;
    const direct: number[] = [];
    const tapped: number[] = [];
    const cpu = new Map<string, number>();
    let ownCpuUs = 0;
    for (let p = 0; p < PHASES; p++) {
      direct.push(...(await paced(upstreamPort, SECONDS)));
      const before = threadCpuMs(pid);
      const own = process.cpuUsage();
      tapped.push(...(await paced(tapPort, SECONDS)));
      const used = process.cpuUsage(own);
      ownCpuUs += used.user + used.system;
      for (const [name, ms] of threadCpuMs(pid))
        cpu.set(name, (cpu.get(name) ?? 0) + ms - (before.get(name) ?? 0));
    }
    direct.sort((a, b) => a - b);
    tapped.sort((a, b) => a - b);
    for (const [name, q] of [
      ["p50", 0.5],
      ["p99", 0.99],
    ] as const) {
      const d = quantile(direct, q);
      const t = quantile(tapped, q);
      console.log(`tap_direct_${name}: ${d.toFixed(2)} ms`);
      console.log(`tap_proxy_${name}: ${t.toFixed(2)} ms`);
      console.log(`tap_added_${name}: ${(t - d).toFixed(2)} ms`);
    }
    console.log(`tap_rate: ${RATE} requests/s of ${INSTANCES} instances`);
    for (const line of cpuPerCall(new Map(), cpu, tapped.length)) console.log(line);
    console.log(
      `tap_bench_cpu_per_call: ${(ownCpuUs / tapped.length).toFixed(0)} us (this process: load and upstream)`,
    );
    const sentThroughTap = RATE * (SECONDS * PHASES + 1) * INSTANCES;
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
    agent.destroy();
    serve.child.kill("SIGTERM");
    await new Promise((r) => serve.child.once("exit", r));
    upstream.close();
    dir.remove();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
