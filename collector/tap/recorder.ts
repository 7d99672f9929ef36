import type { CapturedCall } from "../inference/captured-call.js";

/** Why recorded predictions were not written: the queue was full, or their write failed. */
export type DropReason = "queue_full" | "write_failed";

/**
 * How long the first call of a batch waits for more before the batch is written. Every write costs a
 * message to a decode thread and a spool commit (an fsync) whatever its size; at a few thousand calls a
 * second, writing as soon as the previous write ended made batches of one or two calls (measured).
 */
export const RECORD_LINGER_MS = 20;

/**
 * What the tap recorded, waiting to be written: bounded (past `maxQueued` predictions new calls are dropped
 * and counted) and written a batch at a time (what arrived over `lingerMs`, or while the previous write was
 * in flight if that took longer), so a slow or failing store never holds answers back; what a failed write
 * held is counted too.
 */
export class TapRecorder {
  private queue: CapturedCall[] = [];
  private queued = 0;
  private writing: Promise<void> | undefined;
  /** Ends the current gathering early (flush). */
  private wake: (() => void) | undefined;
  private flushing = false;

  constructor(
    private readonly write: (calls: CapturedCall[], predictions: number) => Promise<void>,
    private readonly maxQueued: number,
    private readonly dropped: (predictions: number, reason: DropReason) => void,
    private readonly lingerMs = RECORD_LINGER_MS,
  ) {}

  add(call: CapturedCall, predictions: number): void {
    if (this.queued + predictions > this.maxQueued) {
      this.dropped(predictions, "queue_full");
      return;
    }
    this.queue.push(call);
    this.queued += predictions;
    this.writing ??= this.drain();
  }

  /** Writes what is held now, and resolves once everything recorded so far was written (or dropped). */
  async flush(): Promise<void> {
    this.flushing = true;
    this.wake?.();
    try {
      while (this.writing) await this.writing;
    } finally {
      this.flushing = false;
    }
  }

  /** Writes a batch at a time, each gathered over `lingerMs` (or less when flushing), until none is held. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      if (!this.flushing)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.lingerMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      this.wake = undefined;
      const batch = this.queue;
      const predictions = this.queued;
      this.queue = [];
      this.queued = 0;
      try {
        await this.write(batch, predictions);
      } catch {
        this.dropped(predictions, "write_failed");
      }
    }
    this.writing = undefined;
  }
}
