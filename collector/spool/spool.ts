import { megabytes } from "../../common/index.js";
import { FRAME_HEADER_BYTES, type Frame } from "./frame.js";
import { type InsertSegmentRows, type ReplayEvents, Replayer, type ReplayOptions } from "./replayer.js";
import { SegmentLog } from "./segment-log.js";

export interface SpoolOptions {
  /** Directory of segment files; created when missing. */
  dir: string;
  /** A segment is sealed (and becomes one insert per table) at this many records at most. */
  maxSegmentRecords: number;
  /**
   * Inserts start at most this often: an open segment is sealed once the store is idle and this long has
   * passed since the last seal, so a quiet service's records reach the store within about this time.
   */
  flushIntervalMs: number;
  /** Bytes on disk (acknowledged, not yet in the store) past which writes are refused: back-pressure. */
  maxBytes: number;
  replay: ReplayOptions;
}

export type WriteOutcome =
  | { ok: true }
  | { ok: false; reason: "overloaded" | "shutdown" | "spool_failed"; message: string };

export interface SpoolEvents extends ReplayEvents {
  /** The disk refused an append (the request was answered 503; nothing was acknowledged). */
  writeFailed?(error: unknown): void;
}

/**
 * The write-ahead spool between ingest and the store. A write is acknowledged once its frames are fsync'd
 * to a local segment; sealed segments are replayed into the store in order, with retries, and deleted only
 * after the store took them. Ingest's latency is the disk's, not the store's, and inserts are as large as
 * the traffic allows.
 */
export class Spool {
  private timer: NodeJS.Timeout | undefined;
  private lastSealAt = performance.now();
  private stopped = false;

  private constructor(
    private readonly options: SpoolOptions,
    private readonly log: SegmentLog,
    private readonly replayer: Replayer,
    private readonly events: SpoolEvents,
  ) {}

  /** Opens the directory and starts replaying what an earlier run left there. */
  static async open(
    options: SpoolOptions,
    insert: InsertSegmentRows,
    events: SpoolEvents = {},
  ): Promise<Spool> {
    let spool: Spool | undefined;
    const replayer = new Replayer(insert, options.replay, events, () => spool?.schedule());
    const { log, found } = await SegmentLog.open(options.dir, (segment) => replayer.enqueue(segment));
    spool = new Spool(options, log, replayer, events);
    for (const segment of found) replayer.enqueue(segment);
    return spool;
  }

  /** Acknowledged bytes not yet in the store. */
  get bytes(): number {
    return this.log.openBytes + this.replayer.queuedBytes;
  }

  /** Resolves once the frames are durable on disk (ok) or refused (overloaded, stopping, disk failure). */
  async write(frames: readonly Frame[]): Promise<WriteOutcome> {
    if (frames.length === 0) return { ok: true };
    if (this.stopped) return { ok: false, reason: "shutdown", message: "the service is stopping" };
    const bytes = frames.reduce((sum, f) => sum + FRAME_HEADER_BYTES + f.rows.byteLength, 0);
    if (this.bytes + bytes > this.options.maxBytes) {
      return {
        ok: false,
        reason: "overloaded",
        message: `the spool holds ${megabytes(this.bytes)} MB waiting for the store (bound ${megabytes(this.options.maxBytes)} MB)`,
      };
    }
    try {
      await this.log.append(frames);
    } catch (err) {
      this.events.writeFailed?.(err);
      return {
        ok: false,
        reason: "spool_failed",
        message: `the spool could not write to disk: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
    if (this.log.openRecords >= this.options.maxSegmentRecords) void this.seal();
    else this.schedule();
    return { ok: true };
  }

  /** Seals what is open and resolves once everything acknowledged so far is in the store. */
  async flush(): Promise<void> {
    await this.seal();
    await this.replayer.whenEmpty();
  }

  /**
   * Refuses new writes, makes the pending ones durable, and replays for up to `deadlineMs`; what is left
   * stays on disk for the next start. Returns the bytes left.
   */
  async shutdown(deadlineMs: number): Promise<number> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.log.seal();
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([
      this.replayer.whenEmpty(),
      new Promise<void>((resolve) => {
        deadline = setTimeout(resolve, deadlineMs);
      }),
    ]);
    clearTimeout(deadline);
    await this.replayer.stop();
    return this.bytes;
  }

  /** Seals the open segment once the interval has passed and the store is idle (the replayer calls back). */
  private schedule(): void {
    if (this.timer || this.stopped || this.log.openRecords === 0) return;
    const wait = Math.max(0, this.lastSealAt + this.options.flushIntervalMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.replayer.idle) void this.seal();
    }, wait);
    this.timer.unref();
  }

  /** Closes the open segment (it goes to the replayer); resolves once closed. */
  private seal(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lastSealAt = performance.now();
    return this.log.seal();
  }
}
