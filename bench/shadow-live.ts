/**
 * The live half of bench:shadow: what mirroring every prediction to a candidate costs the collector. Two
 * `modelwatch serve` children take the same paced OTLP load (20,000 predictions/s by default), one with no
 * candidate and one with the 20-input MLP shadowing every model; each one's CPU time (all its threads, the
 * embedded engine's included) is read from /proc over the load and a settle after it, and divided by the
 * predictions sent; every answer is then checked stored.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ENGINE_THREAD } from "../store/engine-threads.js";
import { agent, openLoop, post, storedAtLeast } from "./load.js";
import { predictionBodies } from "./otlp-workload.js";
import { startServeChild } from "./serve-child.js";
import { tempDirectory } from "./temp.js";

const RECORDS_PER_BODY = 500;
/** After the load, while CPU time still counts: the mirror inserts answers every 5 s. */
const SETTLE_MS = 10_000;
/** Linux's clock ticks per second, in which /proc/<pid>/stat counts CPU time. */
const TICKS_PER_SECOND = 100;

/** CPU time by group of threads, µs per record sent. */
export interface CpuPerRecord {
  /** Every thread of the process. */
  process: number;
  /** The collector: the event loop (HTTP, spool) and the decode threads. */
  collector: number;
  /** The mirror's worker (scan, inference, answers). */
  shadow: number;
  /** The embedded engine's threads (inserts, merges). */
  engine: number;
}

export interface LiveRun {
  cpu: CpuPerRecord;
  records: number;
  answers: number;
  dropped: number;
}

/**
 * Runs the paced load against a child without and with the candidates, `rounds` times each, alternating, and
 * returns each run.
 */
export async function liveOverhead(options: {
  model: Uint8Array;
  features: number;
  rate: number;
  seconds: number;
  rounds: number;
}): Promise<{ without: LiveRun[]; with: LiveRun[] }> {
  const bodies = predictionBodies({
    bodies: 40,
    recordsPerBody: RECORDS_PER_BODY,
    features: options.features,
  });
  const result: { without: LiveRun[]; with: LiveRun[] } = { without: [], with: [] };
  for (let round = 0; round < options.rounds; round++)
    for (const mirrored of [false, true]) {
      const run = await oneRun(bodies, mirrored, options);
      (mirrored ? result.with : result.without).push(run);
    }
  agent.destroy();
  return result;
}

async function oneRun(
  bodies: Uint8Array[],
  mirrored: boolean,
  options: { model: Uint8Array; features: number; rate: number; seconds: number },
): Promise<LiveRun> {
  const dir = tempDirectory("modelwatch-bench-live-");
  const models = join(dir.path, "models");
  mkdirSync(models);
  writeFileSync(join(models, "mlp.onnx"), options.model);
  const features = Array.from({ length: options.features }, (_, i) => `f${i}`);
  // predictionBodies spreads its bodies over three models: one candidate shadows each.
  const candidates = [0, 1, 2].map((m) => ({
    name: `mlp-${m}`,
    shadows: `model-${m}`,
    file: "mlp.onnx",
    input: { features },
    output: { kind: "probabilities", classes: ["no", "yes"] },
  }));
  writeFileSync(join(dir.path, "shadow.json"), JSON.stringify({ candidates: mirrored ? candidates : [] }));
  const { child, url } = await startServeChild(
    ["--models-dir", models, "--shadow-config", join(dir.path, "shadow.json")],
    { ...process.env, MODELWATCH_DATA_DIR: join(dir.path, "data") },
  );
  try {
    for (const body of bodies.slice(0, 6)) await post(url, body); // warm-up
    let sent = 6 * RECORDS_PER_BODY;
    await storedAtLeast(url, sent);
    if (mirrored) await answersStored(url, sent);
    // The same window for both children: the load, then a settle long enough for the last answers to be
    // inserted and the merges the load caused to run (a window ending when the answers are stored would
    // count more of the predictions' merges in the child that stores answers later).
    const before = threadTicks(child);
    const paced = await openLoop(url, bodies, RECORDS_PER_BODY, options.rate, options.seconds, 64);
    if (paced.latencies.length !== paced.started) throw new Error("a paced request was not answered 200");
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const after = threadTicks(child);
    const records = paced.started * RECORDS_PER_BODY;
    sent += records;
    await storedAtLeast(url, sent);
    const answers = mirrored ? await answersStored(url, sent) : { stored: 0, dropped: 0 };
    return {
      cpu: perRecord(child, before, after, records),
      records,
      answers: answers.stored,
      dropped: answers.dropped,
    };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    dir.remove();
  }
}

/** Each thread's name and CPU ticks (user + system) so far, by thread id. */
function threadTicks(child: ChildProcess): Map<string, { name: string; ticks: number }> {
  const threads = new Map<string, { name: string; ticks: number }>();
  for (const tid of readdirSync(`/proc/${child.pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${child.pid}/task/${tid}/stat`, "utf8");
      // After the name (which may hold spaces and parentheses) come state, …: utime and stime are 12th, 13th.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      threads.set(tid, { name, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return threads;
}

/** CPU between two snapshots by group of threads (named by modelwatch and by the engine), per record. */
function perRecord(
  child: ChildProcess,
  before: Map<string, { ticks: number }>,
  after: Map<string, { name: string; ticks: number }>,
  records: number,
): CpuPerRecord {
  const sums = { process: 0, collector: 0, shadow: 0, engine: 0 };
  for (const [tid, { name, ticks }] of after) {
    const used = ticks - (before.get(tid)?.ticks ?? 0);
    sums.process += used;
    if (tid === String(child.pid) || name === "mw-decode") sums.collector += used;
    else if (name === "mw-shadow") sums.shadow += used;
    else if (ENGINE_THREAD.test(name)) sums.engine += used;
  }
  const micro = (ticks: number) => ((ticks / TICKS_PER_SECOND) * 1e6) / records;
  return {
    process: micro(sums.process),
    collector: micro(sums.collector),
    shadow: micro(sums.shadow),
    engine: micro(sums.engine),
  };
}

/**
 * Waits until the service has stored an answer for each of the `sent` predictions it did not drop (from its
 * own counts: the bench's bodies repeat, so the table's ReplacingMergeTree folds repeated answers).
 */
async function answersStored(url: string, sent: number): Promise<{ stored: number; dropped: number }> {
  const deadline = performance.now() + 120_000;
  for (;;) {
    const res = await fetch(`${url}/shadow/candidates`);
    const { live } = (await res.json()) as { live: { stored: number; dropped: { queue_full: number } } };
    const dropped = live.dropped.queue_full;
    if (live.stored >= sent - dropped) return { stored: live.stored, dropped };
    if (performance.now() > deadline)
      throw new Error(`only ${live.stored} of ${sent} shadow answers were stored`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
