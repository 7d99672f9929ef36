import { Worker } from "node:worker_threads";
import { ownsItsBuffer, workerScript } from "../../common/index.js";
import type { CandidateSpec, SkipReason } from "../candidate.js";
import type { ShadowMetrics } from "../telemetry.js";
import type { MirrorWorkerData } from "./mirror-worker.js";
import type { CandidateProgress, MirrorReply, MirrorTask } from "./protocol.js";

export interface LiveMirrorOptions {
  modelsDir: string;
  /** Predictions handed over but not yet taken into batches, at most; past it new ones are dropped. */
  queueRecords: number;
  /** Rows per inference batch at most, and how long a partly filled batch waits (ms). */
  batchRows: number;
  batchDelayMs: number;
  /** Writes answers (shadow_predictions RowBinary chunks) to the store. */
  insert(rows: Uint8Array[]): Promise<void>;
  /** Answers are written at most this often (ms), or sooner when `insertRows` are waiting. */
  insertEveryMs?: number;
  insertRows?: number;
  metrics?: ShadowMetrics;
  log?: (line: string) => void;
}

/** What the mirror did since it started, for tests and the CLI. */
export interface MirrorStats {
  mirrored: number;
  /** Answers written to the store. */
  stored: number;
  dropped: { queue_full: number; inference_failed: number; insert_failed: number };
  inferred: Record<string, number>;
  skipped: Record<string, Partial<Record<SkipReason, number>>>;
}

/**
 * Answers are written in large inserts: the engine's work per row falls with the rows per insert (as for
 * predictions), and comparisons are computed minutes apart, so seconds of delay cost nothing.
 */
const INSERT_EVERY_MS = 5_000;
const INSERT_ROWS = 100_000;
/** Answers waiting for the store at most; past it (the store failing for long) the oldest are dropped. */
const MAX_WAITING_ANSWERS = 500_000;

/**
 * Runs shadow candidates on the predictions ingest acknowledges, on a worker thread. `offer` is the
 * collector's prediction listener: it never waits and never slows ingest. It hands the rows over as they
 * are, or drops them (counted) when the worker is `queueRecords` behind. With no candidate it does nothing.
 */
export class LiveMirror {
  private worker: Worker | undefined;
  private queued = 0;
  private running: string[] = [];
  private specs: CandidateSpec[] = [];
  private readonly stats: MirrorStats = {
    mirrored: 0,
    stored: 0,
    dropped: { queue_full: 0, inference_failed: 0, insert_failed: 0 },
    inferred: {},
    skipped: {},
  };
  private waiting: Uint8Array[] = [];
  private waitingRows: number[] = [];
  private waitingTotal = 0;
  private inserting: Promise<void> = Promise.resolve();
  private insertTimer: NodeJS.Timeout | undefined;
  private readonly replies: Array<{ type: MirrorReply["type"]; resolve: (r: MirrorReply) => void }> = [];
  private closed = false;

  constructor(private readonly options: LiveMirrorOptions) {}

  /** Predictions waiting for the worker. */
  get queuedRecords(): number {
    return this.queued;
  }

  /** The collector's prediction listener. */
  readonly offer = (rows: Uint8Array, records: number): void => {
    const worker = this.worker;
    if (!worker || this.running.length === 0 || this.closed) return;
    if (this.queued + records > this.options.queueRecords) {
      this.drop("queue_full", records);
      return;
    }
    this.queued += records;
    this.stats.mirrored += records;
    this.options.metrics?.mirrored.add(records);
    // Ingest is done with the rows: their buffer moves to the worker when it is theirs alone (no copy, and
    // no new buffer for this thread's collector to account for); small rows in Node's shared pool are copied.
    const moved = ownsItsBuffer(rows) ? rows : new Uint8Array(rows);
    const task: MirrorTask = { type: "rows", rows: moved, records };
    worker.postMessage(task, [moved.buffer as ArrayBuffer]);
  };

  /**
   * Runs these candidates from now on, in place of the previous set. Resolves with those running and those
   * the worker refused (their model no longer fits the spec or is gone), with the reason.
   */
  async setCandidates(
    specs: readonly CandidateSpec[],
  ): Promise<{ running: string[]; refused: Array<{ name: string; message: string }> }> {
    if (this.closed) throw new Error("the live mirror is closed");
    this.worker ??= this.spawn();
    this.specs = [...specs];
    const reply = this.next("candidates");
    this.post({ type: "candidates", specs: this.specs, modelsDir: this.options.modelsDir });
    const r = (await reply) as Extract<MirrorReply, { type: "candidates" }>;
    this.running = r.running;
    return { running: r.running, refused: r.refused };
  }

  /** Names of the candidates running. */
  get candidates(): readonly string[] {
    return this.running;
  }

  /** Runs every waiting batch and writes all answers so far to the store. */
  async flush(): Promise<void> {
    if (this.worker) {
      const reply = this.next("flushed");
      this.post({ type: "flush" });
      this.record(((await reply) as Extract<MirrorReply, { type: "flushed" }>).progress);
    }
    await this.writeAnswers();
  }

  snapshot(): MirrorStats {
    return structuredClone(this.stats);
  }

  /** Runs what waits, writes the answers, and stops the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch((err) => this.options.log?.(`shadow: final flush failed: ${String(err)}`));
    this.closed = true;
    clearTimeout(this.insertTimer);
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private spawn(): Worker {
    const data: MirrorWorkerData = {
      batchRows: this.options.batchRows,
      batchDelayMs: this.options.batchDelayMs,
    };
    const worker = new Worker(WORKER_SCRIPT, { workerData: data });
    worker.on("message", (reply: MirrorReply) => this.received(reply));
    worker.on("error", (err) => this.died(err));
    worker.unref(); // the HTTP server keeps the process alive, not the mirror
    return worker;
  }

  private received(reply: MirrorReply): void {
    switch (reply.type) {
      case "consumed":
        this.queued -= reply.records;
        this.record(reply.progress);
        break;
      case "answers":
        this.record(reply.progress);
        this.waiting.push(reply.rows);
        this.waitingRows.push(reply.count);
        this.waitingTotal += reply.count;
        this.scheduleInsert();
        break;
      case "failed":
        this.drop("inference_failed", reply.rows);
        this.options.log?.(
          `shadow candidate ${reply.candidate}: a batch of ${reply.rows} failed: ${reply.message}`,
        );
        break;
    }
    const i = this.replies.findIndex((w) => w.type === reply.type);
    if (i >= 0) this.replies.splice(i, 1)[0]?.resolve(reply);
  }

  /** A worker that died (a crash in native code, say) is replaced, with the same candidates. */
  private died(err: Error): void {
    this.options.log?.(`shadow: the mirror worker died (${err.message}); restarting it`);
    this.worker = undefined;
    this.queued = 0;
    this.running = [];
    for (const w of this.replies.splice(0))
      w.resolve(
        w.type === "candidates"
          ? { type: "candidates", running: [], refused: [] }
          : { type: "flushed", progress: {} },
      );
    if (this.closed) return;
    this.worker = this.spawn();
    void this.next("candidates").then((r) => {
      if (r.type === "candidates") this.running = r.running;
    });
    this.post({ type: "candidates", specs: this.specs, modelsDir: this.options.modelsDir });
  }

  private record(progress: Record<string, CandidateProgress>): void {
    const m = this.options.metrics;
    for (const [name, p] of Object.entries(progress)) {
      this.stats.inferred[name] = (this.stats.inferred[name] ?? 0) + p.inferred;
      if (p.inferred > 0) m?.inferred.add(p.inferred, { candidate: name });
      const skipped = this.stats.skipped[name] ?? {};
      this.stats.skipped[name] = skipped;
      for (const [reason, n] of Object.entries(p.skipped) as Array<[SkipReason, number]>) {
        skipped[reason] = (skipped[reason] ?? 0) + n;
        m?.skipped.add(n, { candidate: name, reason });
      }
      for (const ms of p.batchMs) m?.batchSeconds.record(ms / 1000, { candidate: name });
    }
  }

  private scheduleInsert(): void {
    if (this.waitingTotal >= (this.options.insertRows ?? INSERT_ROWS)) {
      void this.writeAnswers();
      return;
    }
    this.insertTimer ??= setTimeout(() => {
      this.insertTimer = undefined;
      void this.writeAnswers();
    }, this.options.insertEveryMs ?? INSERT_EVERY_MS);
    this.insertTimer.unref();
  }

  /** Writes the answers waiting, one insert at a time; a failed insert drops its answers, counted. */
  private writeAnswers(): Promise<void> {
    clearTimeout(this.insertTimer);
    this.insertTimer = undefined;
    this.inserting = this.inserting.then(async () => {
      this.trimWaiting();
      if (this.waiting.length === 0) return;
      const chunks = this.waiting;
      const rows = this.waitingTotal;
      this.waiting = [];
      this.waitingRows = [];
      this.waitingTotal = 0;
      try {
        await this.options.insert(chunks);
        this.stats.stored += rows;
      } catch (err) {
        this.drop("insert_failed", rows);
        this.options.log?.(`shadow: ${rows} answers could not be stored: ${(err as Error).message}`);
      }
    });
    return this.inserting;
  }

  /** Keeps the backlog of answers bounded while the store fails: the oldest go first, counted. */
  private trimWaiting(): void {
    while (this.waitingTotal > MAX_WAITING_ANSWERS && this.waiting.length > 1) {
      this.waiting.shift();
      const n = this.waitingRows.shift() ?? 0;
      this.waitingTotal -= n;
      this.drop("insert_failed", n);
    }
  }

  /** Predictions that will have no answer, counted by reason. */
  private drop(reason: keyof MirrorStats["dropped"], count: number): void {
    this.stats.dropped[reason] += count;
    this.options.metrics?.dropped.add(count, { reason });
  }

  private post(task: MirrorTask): void {
    this.worker?.postMessage(task);
  }

  /**
   * The worker's next reply of a type. The worker is unreferenced (the HTTP server keeps the process alive),
   * so while a reply is awaited it is referenced: before the server listens, nothing else would.
   */
  private next(type: MirrorReply["type"]): Promise<MirrorReply> {
    this.worker?.ref();
    return new Promise<MirrorReply>((resolve) => this.replies.push({ type, resolve })).finally(() => {
      if (this.replies.length === 0) this.worker?.unref();
    });
  }
}

const WORKER_SCRIPT = workerScript(
  new URL("./mirror-worker.js", import.meta.url),
  new URL("../../dist/shadow/live/mirror-worker.js", import.meta.url),
);
