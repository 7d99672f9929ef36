/** Where a batch goes: an insert of RowBinary rows into one table (a later spool slots in behind the same call). */
export type InsertRows = (rowBinary: Uint8Array, records: number) => Promise<void>;

export interface BatchWriterOptions {
  /** Flush as soon as this many records are pending. */
  maxBatchRecords: number;
  /**
   * Inserts start at most this often. A write that finds the store idle for longer is inserted at once;
   * otherwise it waits for the rest of the interval, joining whatever else arrives. This bounds the parts
   * created per second without making a quiet service wait.
   */
  flushIntervalMs: number;
  /** Records pending or in flight beyond which writes are refused (back-pressure, not unbounded memory). */
  maxQueueRecords: number;
}

export type WriteOutcome =
  | { ok: true }
  | { ok: false; reason: "overloaded" | "shutdown" | "store_failed"; message: string };

export interface FlushReport {
  records: number;
  durationMs: number;
  error?: unknown;
}

interface Batch {
  chunks: Uint8Array[];
  records: number;
  waiters: Array<(outcome: WriteOutcome) => void>;
}

/**
 * Batches rows for one table, in the manner of OpenTelemetry's BatchSpanProcessor: a bounded queue, size and
 * time bounds, one flush in flight, `forceFlush()` and a once-only `shutdown()`, an unref'd timer. A write
 * resolves when its rows are inserted, so a request is acknowledged only once its records are stored.
 */
export class BatchWriter {
  private pending: Batch = emptyBatch();
  private inFlightRecords = 0;
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastFlushStart = Number.NEGATIVE_INFINITY;
  private shutdownPromise: Promise<void> | undefined;

  constructor(
    private readonly insert: InsertRows,
    private readonly options: BatchWriterOptions,
    private readonly onFlush: (report: FlushReport) => void = () => {},
  ) {}

  /** Records pending or being inserted. */
  get queuedRecords(): number {
    return this.pending.records + this.inFlightRecords;
  }

  /** Queues `records` rows (already encoded); resolves once they are inserted or refused. */
  write(rows: Uint8Array, records: number): Promise<WriteOutcome> {
    if (records === 0) return Promise.resolve({ ok: true });
    if (this.stopped)
      return Promise.resolve({ ok: false, reason: "shutdown", message: "the service is stopping" });
    if (this.queuedRecords + records > this.options.maxQueueRecords) {
      return Promise.resolve({
        ok: false,
        reason: "overloaded",
        message: `the write queue is full (${this.queuedRecords} records waiting for the store)`,
      });
    }
    return new Promise((resolve) => {
      this.pending.chunks.push(rows);
      this.pending.records += records;
      this.pending.waiters.push(resolve);
      if (this.pending.records >= this.options.maxBatchRecords) this.kick();
      else this.schedule();
    });
  }

  /** Inserts everything queued so far; resolves when done (failures reach the writers' callers). */
  async forceFlush(): Promise<void> {
    while (this.pending.records > 0 || this.flushing) {
      if (!this.flushing) this.kick();
      await this.flushing;
    }
  }

  /** Refuses new writes, then flushes what is queued. Safe to call more than once. */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= (async () => {
      this.stopped = true;
      await this.forceFlush();
      if (this.timer) clearTimeout(this.timer);
    })();
    return this.shutdownPromise;
  }

  /** Starts a flush unless one is in flight; a flush that ends with rows pending starts the next. */
  private kick(): void {
    if (this.flushing || this.pending.records === 0) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.pending;
    this.pending = emptyBatch();
    this.lastFlushStart = performance.now();
    this.inFlightRecords = batch.records;
    this.flushing = this.flushBatch(batch).finally(() => {
      this.inFlightRecords = 0;
      this.flushing = undefined;
      if (
        this.pending.records >= this.options.maxBatchRecords ||
        (this.stopped && this.pending.records > 0)
      ) {
        this.kick();
      } else if (this.pending.records > 0) this.schedule();
    });
  }

  /** Flushes soon if the last insert started an interval ago, else when the interval is up. */
  private schedule(): void {
    if (this.flushing || this.timer) return;
    // Even when the store is idle, wait for the current turn of the event loop: writes decoded together join.
    const wait = Math.max(0, this.lastFlushStart + this.options.flushIntervalMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, wait);
    this.timer.unref();
  }

  private async flushBatch(batch: Batch): Promise<void> {
    const started = performance.now();
    let outcome: WriteOutcome = { ok: true };
    let error: unknown;
    try {
      await this.insert(
        batch.chunks.length === 1 ? (batch.chunks[0] as Uint8Array) : Buffer.concat(batch.chunks),
        batch.records,
      );
    } catch (err) {
      error = err;
      outcome = {
        ok: false,
        reason: "store_failed",
        message: `the store did not take the batch: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
    try {
      this.onFlush({ records: batch.records, durationMs: performance.now() - started, error });
    } catch {
      // A reporting hook must never turn a stored batch into a failed request.
    }
    for (const resolve of batch.waiters) resolve(outcome);
  }
}

function emptyBatch(): Batch {
  return { chunks: [], records: 0, waiters: [] };
}
