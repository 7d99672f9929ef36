/**
 * The mirror worker: runs the candidates on acknowledged predictions off the event loop (see LiveMirror).
 * Run by `new Worker(...)`, never imported. Tasks are handled one at a time, a full batch run before the
 * next task is read, so the main thread's count of records not yet consumed bounds what waits here.
 */
import { parentPort, workerData } from "node:worker_threads";
import { describeThisThread } from "../../common/index.js";
import { scanPredictionFeatures } from "../../store/rows.js";
import { answerRows } from "../answers.js";
import { inferBatch } from "../infer.js";
import { type OpenCandidate, openCandidate } from "../open-candidate.js";
import { FeatureBatch } from "./batch.js";
import type { CandidateProgress, MirrorReply, MirrorTask } from "./protocol.js";

export interface MirrorWorkerData {
  batchRows: number;
  batchDelayMs: number;
}

/** The nice value of the mirror's thread: below ingest, as the engine's threads are (store/engine-threads). */
const SHADOW_NICE = 10;

const port = parentPort;
if (!port) throw new Error("mirror-worker runs as a worker thread");
const { batchRows, batchDelayMs } = workerData as MirrorWorkerData;
// Shadow inference can wait and ingest cannot: on busy cores this thread yields to the collector's (its
// queue then fills, and what does not fit is dropped and counted).
describeThisThread("mw-shadow", SHADOW_NICE);

interface Running {
  candidate: OpenCandidate;
  /** The batch filling now. */
  batch: FeatureBatch;
  /** Batches run and emptied, for reuse. */
  spare: FeatureBatch[];
}

/** Candidates by the production model they shadow. */
let byModel = new Map<string, Running[]>();
let progress: Record<string, CandidateProgress> = {};
const queue: Array<MirrorTask | { type: "due" }> = [];
let pumping = false;
let due: NodeJS.Timeout | undefined;

const reply = (message: MirrorReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

port.on("message", (task: MirrorTask) => {
  queue.push(task);
  if (!pumping) void pump();
});

async function pump(): Promise<void> {
  pumping = true;
  for (let task = queue.shift(); task; task = queue.shift()) {
    switch (task.type) {
      case "rows":
        await mirror(task.rows);
        reply({ type: "consumed", records: task.records, progress: takeProgress() });
        break;
      case "due":
      case "flush":
        await runPartial();
        if (task.type === "flush") reply({ type: "flushed", progress: takeProgress() });
        break;
      case "candidates":
        await runPartial();
        await replace(task);
        break;
    }
  }
  pumping = false;
}

async function mirror(rows: Uint8Array): Promise<void> {
  // The scan is synchronous: a batch that fills mid-request is set aside and a fresh one takes the rows
  // that follow; the set-aside batches run once the scan is over.
  const filled: Filled[] = [];
  scanPredictionFeatures(
    rows,
    (model) => byModel.has(model),
    (row) => {
      for (const r of byModel.get(row.model) ?? []) {
        const skipped = r.batch.add(row);
        if (skipped) {
          const p = progressOf(r.candidate.spec.name);
          p.skipped[skipped] = (p.skipped[skipped] ?? 0) + 1;
        } else if (r.batch.full) {
          filled.push({ running: r, batch: r.batch });
          r.batch = r.spare.pop() ?? new FeatureBatch(r.candidate.features, batchRows);
        }
      }
    },
  );
  for (const f of filled) await run(f.running, f.batch);
  scheduleDue();
}

interface Filled {
  running: Running;
  batch: FeatureBatch;
}

async function run(r: Running, batch: FeatureBatch): Promise<void> {
  const { candidate } = r;
  if (batch.rows === 0) return;
  const p = progressOf(candidate.spec.name);
  try {
    const features = batch.features.subarray(0, batch.rows * candidate.features.length);
    const { answers, latencyMs } = await inferBatch(candidate, features, batch.rows);
    const bytes = new Uint8Array(answerRows(candidate, batch, answers, latencyMs));
    p.inferred += batch.rows;
    p.batchMs.push(latencyMs);
    reply({ type: "answers", rows: bytes, count: batch.rows, progress: takeProgress() }, [
      bytes.buffer as ArrayBuffer,
    ]);
  } catch (err) {
    reply({
      type: "failed",
      candidate: candidate.spec.name,
      rows: batch.rows,
      message: err instanceof Error ? err.message : String(err),
    });
  } finally {
    batch.clear();
    if (batch !== r.batch) r.spare.push(batch);
  }
}

async function runPartial(): Promise<void> {
  if (due) clearTimeout(due);
  due = undefined;
  for (const list of byModel.values()) for (const r of list) await run(r, r.batch);
}

/** Partly filled batches run within `batchDelayMs` of their first row, busy or not. */
function scheduleDue(): void {
  if (due) return;
  let waiting = false;
  for (const list of byModel.values()) for (const r of list) waiting ||= r.batch.rows > 0;
  if (!waiting) return;
  due = setTimeout(() => {
    due = undefined;
    queue.push({ type: "due" });
    if (!pumping) void pump();
  }, batchDelayMs);
}

async function replace(task: Extract<MirrorTask, { type: "candidates" }>): Promise<void> {
  const old = [...byModel.values()].flat();
  const next = new Map<string, Running[]>();
  const running: string[] = [];
  const refused: Array<{ name: string; message: string }> = [];
  for (const spec of task.specs) {
    try {
      const candidate = await openCandidate(spec, task.modelsDir, { threads: 1 });
      const list = next.get(spec.shadows) ?? [];
      list.push({ candidate, batch: new FeatureBatch(candidate.features, batchRows), spare: [] });
      next.set(spec.shadows, list);
      running.push(spec.name);
    } catch (err) {
      refused.push({ name: spec.name, message: err instanceof Error ? err.message : String(err) });
    }
  }
  byModel = next;
  await Promise.all(old.map((r) => r.candidate.session.release()));
  reply({ type: "candidates", running, refused });
}

function progressOf(name: string): CandidateProgress {
  progress[name] ??= { inferred: 0, skipped: {}, batchMs: [] };
  return progress[name];
}

function takeProgress(): Record<string, CandidateProgress> {
  const taken = progress;
  progress = {};
  return taken;
}
