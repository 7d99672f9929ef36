/**
 * What the tap recorded, waiting to be written: bounded (past `maxQueued` predictions new ones are dropped
 * and counted) and written one batch at a time, so a slow or failing store never holds answers back; what
 * a failed write held is counted too.
 */
export class TapRecorder {
  private queue: string[] = [];
  private queued = 0;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly write: (ndjson: string, count: number) => Promise<void>,
    private readonly maxQueued: number,
    private readonly dropped: (count: number, reason: "queue_full" | "write_failed") => void,
  ) {}

  add(events: string, count: number): void {
    if (this.queued + count > this.maxQueued) {
      this.dropped(count, "queue_full");
      return;
    }
    this.queue.push(events);
    this.queued += count;
    this.writing ??= this.drain();
  }

  /** Resolves once everything recorded so far was written (or dropped). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      const count = this.queued;
      this.queue = [];
      this.queued = 0;
      try {
        await this.write(batch.join("\n"), count);
      } catch {
        this.dropped(count, "write_failed");
      }
    }
    this.writing = undefined;
  }
}
