/**
 * Load over loopback against a `modelwatch serve` child: OTLP/HTTP protobuf posts from this process, closed
 * and open loops, and what the service stored. Shared by the ingest and overload benchmarks.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";

/** Keep-alive connections, as an exporter keeps them; node:http costs the load process less than fetch. */
export const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

/** Posts one OTLP logs body; resolves with the answer's status (a dropped connection counts as 0). */
export function post(url: string, body: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      `${url}/v1/logs`,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/x-protobuf", "content-length": body.length },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    // A 503 sent before the body was read closes the connection; the write may then fail: not an error here.
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

/** `concurrency` senders, each posting the next body as soon as the previous one is answered 200. */
export async function closedLoop(
  url: string,
  bodies: Uint8Array[],
  recordsPerBody: number,
  seconds: number,
  concurrency: number,
) {
  const end = performance.now() + seconds * 1000;
  let records = 0;
  let requests = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      let i = w;
      while (performance.now() < end) {
        const status = await post(url, bodies[i++ % bodies.length] as Uint8Array);
        if (status !== 200) throw new Error(`ingest answered ${status}`);
        records += recordsPerBody;
        requests++;
      }
    }),
  );
  return { start, records, requests, rate: records / ((performance.now() - start) / 1000) };
}

export interface OpenLoopResult {
  /** Requests started on schedule, and those the load skipped because `maxOutstanding` were unanswered. */
  started: number;
  skipped: number;
  /** Answers by status (0: the connection was dropped). */
  statuses: Map<number, number>;
  /** Latency of each request answered 200, in ms, sorted. */
  latencies: number[];
  /** From the first request started to the last one scheduled, and to the last answer. */
  sendSeconds: number;
  seconds: number;
}

/**
 * Requests started on a fixed schedule whatever the answers, so latency is not hidden by waiting; at most
 * `maxOutstanding` at once (past that a scheduled request is skipped and counted), bounding this process.
 */
export async function openLoop(
  url: string,
  bodies: Uint8Array[],
  recordsPerBody: number,
  recordsPerSecond: number,
  seconds: number,
  maxOutstanding = Number.POSITIVE_INFINITY,
): Promise<OpenLoopResult> {
  const intervalMs = (recordsPerBody / recordsPerSecond) * 1000;
  const total = Math.floor((seconds * 1000) / intervalMs);
  const result: OpenLoopResult = {
    started: 0,
    skipped: 0,
    statuses: new Map(),
    latencies: [],
    sendSeconds: 0,
    seconds: 0,
  };
  const start = performance.now();
  const inflight = new Set<Promise<void>>();
  for (let i = 0; i < total; i++) {
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (inflight.size >= maxOutstanding) {
      result.skipped++;
      continue;
    }
    result.started++;
    const done = (async () => {
      const t0 = performance.now();
      const status = await post(url, bodies[i % bodies.length] as Uint8Array);
      if (status === 200) result.latencies.push(performance.now() - t0);
      result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);
    })();
    inflight.add(done);
    void done.then(() => inflight.delete(done));
  }
  result.sendSeconds = (performance.now() - start) / 1000;
  await Promise.all(inflight);
  result.seconds = (performance.now() - start) / 1000;
  result.latencies.sort((a, b) => a - b);
  return result;
}

/** The latency at quantile `q` of sorted latencies. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Counts stored predictions, after the service has made what it acknowledged visible (`fresh=1`). */
export async function count(url: string): Promise<number> {
  const res = await fetch(`${url}/sql?fresh=1`, { method: "POST", body: "SELECT count() FROM predictions" });
  return Number((await res.text()).trim());
}

/** Waits (up to 5 minutes) until the store holds `records`; returns how long that took, in ms. */
export async function storedAtLeast(url: string, records: number): Promise<number> {
  const start = performance.now();
  while ((await count(url)) < records) {
    if (performance.now() - start > 300_000) throw new Error(`the store never reached ${records} records`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - start;
}

/** The child's resident memory now (VmRSS) or at its peak (VmHWM), in MB. */
export function rssMb(child: ChildProcess, which: "VmRSS" | "VmHWM"): number {
  const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
  const kb = Number(new RegExp(`${which}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return kb / 1024;
}
