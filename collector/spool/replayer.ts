import { mkdir, open, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { TableName } from "../../store/rows.js";
import { scanFrames } from "./frame.js";
import type { SealedSegment } from "./segment-log.js";
import { syncDirectory } from "./sync-directory.js";

/**
 * Inserts one table's rows from one segment. `earlierAttemptAtMs` is set when an earlier attempt may have
 * stored some of them (it failed, or the process making it died): when that attempt started at the
 * earliest. The insert must then leave out the rows already stored, so a repeat stores each row once.
 */
export type InsertSegmentRows = (
  table: TableName,
  /** The table's rows in the segment, frame by frame, in order. */
  rows: readonly Uint8Array[],
  earlierAttemptAtMs: number | undefined,
) => Promise<void>;

export interface ReplayOptions {
  /** First wait after a failed insert; doubled (with jitter) up to `maxBackoffMs`. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /**
   * Failures in a row after which a segment the store keeps refusing as invalid (not merely unavailable)
   * is moved to `failed/` beside the spool, so one bad segment cannot stop ingest for good.
   */
  maxInvalidAttempts: number;
}

/** What happened to each segment, for telemetry and logs; handlers must not throw. */
export interface ReplayEvents {
  replayed?(segment: SealedSegment, records: Record<TableName, number>, durationMs: number): void;
  failed?(segment: SealedSegment, error: unknown, attempt: number, retryInMs: number): void;
  /** Acknowledged bytes past the last valid frame: the disk lost or damaged them. */
  damaged?(segment: SealedSegment, validBytes: number): void;
  quarantined?(segment: SealedSegment, movedTo: string, error: unknown): void;
}

const TABLE_ORDER: readonly TableName[] = ["predictions", "labels"];

/** A read buffer up to this size is kept for the next segment; a larger one (a rare backlog) is not. */
const MAX_REUSED_READ_BYTES = 128 * 1024 * 1024;

/** Replays sealed segments into the store, oldest first, one at a time, deleting each once it is stored. */
export class Replayer {
  private readonly queue: SealedSegment[] = [];
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private emptyWaiters: Array<() => void> = [];
  private inFlightBytes = 0;
  private readBuffer = Buffer.alloc(0);

  constructor(
    private readonly insert: InsertSegmentRows,
    private readonly options: ReplayOptions,
    private readonly events: ReplayEvents = {},
    /** Called whenever the queue empties; the spool seals its open segment then if due. */
    private readonly onIdle: () => void = () => {},
  ) {}

  /** Bytes in segments queued or being replayed. */
  get queuedBytes(): number {
    return this.inFlightBytes + this.queue.reduce((sum, s) => sum + s.bytes, 0);
  }

  get idle(): boolean {
    return this.running === undefined;
  }

  enqueue(segment: SealedSegment): void {
    this.queue.push(segment);
    if (!this.stopped) this.running ??= this.run();
  }

  /** Resolves when every segment queued so far (and since) has been replayed. */
  whenEmpty(): Promise<void> {
    if (this.idle && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  /** Finishes the segment in hand (unless it is waiting to retry) and replays no more. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private async run(): Promise<void> {
    try {
      for (
        let segment = this.queue.shift();
        segment;
        segment = this.stopped ? undefined : this.queue.shift()
      ) {
        this.inFlightBytes = segment.bytes;
        const done = await this.replayWithRetries(segment);
        this.inFlightBytes = 0;
        if (!done) {
          this.queue.unshift(segment); // stopped while waiting to retry: it stays on disk for the next start
          return;
        }
      }
    } finally {
      this.running = undefined;
    }
    if (this.queue.length === 0) {
      for (const resolve of this.emptyWaiters.splice(0)) resolve();
      this.onIdle();
    }
  }

  /** True once the segment is stored (or set aside); false when stopped before that. */
  private async replayWithRetries(segment: SealedSegment): Promise<boolean> {
    let backoff = this.options.initialBackoffMs;
    let invalid = 0;
    let earlierAttemptAtMs = segment.earlierAttemptAtMs;
    for (let attempt = 1; ; attempt++) {
      const startedAt = Date.now();
      try {
        await this.replay(segment, earlierAttemptAtMs);
        return true;
      } catch (err) {
        // A failed insert may still have stored some rows (a table, or some of its parts, or all of it with
        // the answer lost): every later attempt checks.
        earlierAttemptAtMs ??= startedAt;
        invalid = isRetryable(err) ? 0 : invalid + 1;
        if (invalid >= this.options.maxInvalidAttempts) {
          const movedTo = await quarantine(segment).catch((e) => `nowhere (${String(e)})`);
          this.events.quarantined?.(segment, movedTo, err);
          return true;
        }
        const wait = Math.round(backoff * (0.5 + Math.random() / 2));
        this.events.failed?.(segment, err, attempt, wait);
        if (!(await this.sleep(wait))) return false;
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs);
      }
    }
  }

  private async replay(segment: SealedSegment, earlierAttemptAtMs: number | undefined): Promise<void> {
    const started = performance.now();
    const bytes = await this.read(segment);
    const { frames, validBytes } = scanFrames(bytes);
    if (validBytes < bytes.length) this.events.damaged?.(segment, validBytes);
    const records = { predictions: 0, labels: 0 };
    for (const table of TABLE_ORDER) {
      const parts = frames.filter((f) => f.table === table);
      if (parts.length === 0) continue;
      for (const f of parts) records[table] += f.records;
      await this.insert(
        table,
        parts.map((f) => f.rows),
        earlierAttemptAtMs,
      );
    }
    await unlink(segment.path);
    // Durably: a stored segment that came back after a power cut would be stored again, unchecked, since
    // only the oldest segment found at start is checked for rows already stored. Best effort: the segment
    // is stored either way.
    await syncDirectory(dirname(segment.path)).catch(() => {});
    this.events.replayed?.(segment, records, performance.now() - started);
  }

  /**
   * The segment's bytes, in a buffer reused from segment to segment: under load a segment of tens of MB is
   * read every second, and a new buffer each time kept the garbage collector busy. Valid until the next read.
   */
  private async read(segment: SealedSegment): Promise<Buffer> {
    const file = await open(segment.path, "r");
    try {
      const size = segment.bytes || (await file.stat()).size;
      let into = this.readBuffer;
      if (into.length < size) {
        into = Buffer.allocUnsafe(size);
        if (size <= MAX_REUSED_READ_BYTES) this.readBuffer = into;
      }
      let length = 0;
      while (length < size) {
        const { bytesRead } = await file.read(into, length, size - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      return into.subarray(0, length);
    } finally {
      await file.close();
    }
  }

  /** Waits, unless stopped first; false when stopped. */
  private sleep(ms: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve(true);
      }, ms);
      timer.unref(); // a retry pending must not keep a stopping process alive
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(false);
      };
    });
  }
}

/** Store errors say whether they may pass; a file error (the segment is gone or unreadable) will not. */
function isRetryable(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return true;
  if ("retryable" in err) return Boolean(err.retryable);
  return !("syscall" in err);
}

async function quarantine(segment: SealedSegment): Promise<string> {
  const dir = join(dirname(segment.path), "failed");
  await mkdir(dir, { recursive: true });
  const to = join(dir, segment.name);
  await rename(segment.path, to);
  return to;
}
