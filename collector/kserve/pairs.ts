/** One half of a KServe inference, as its logger posted it. */
export interface Half {
  kind: "request" | "response";
  /** The payload as posted (JSON). */
  body: Uint8Array;
  model: string;
  endpoint: string;
  timeMs: number;
  receivedAtMs: number;
}

/**
 * Halves waiting for their other half, by CloudEvent id: bounded in count (the oldest goes when full) and in
 * time (`timeoutMs`); what leaves unpaired is handed to `unpaired` to be counted.
 */
export class PendingHalves {
  private readonly waiting = new Map<string, Half>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly maxPending: number,
    private readonly timeoutMs: number,
    private readonly unpaired: (half: Half) => void,
    private readonly clock: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.expire(), Math.min(1_000, timeoutMs));
    this.timer.unref();
  }

  /** The other half when it is waiting (and no longer is), or undefined after keeping this one. */
  match(id: string, half: Half): Half | undefined {
    const other = this.waiting.get(id);
    if (other && other.kind !== half.kind) {
      this.waiting.delete(id);
      return other;
    }
    if (other) this.unpaired(other); // the same half twice: the newer one waits
    this.waiting.delete(id);
    if (this.waiting.size >= this.maxPending) {
      const [oldestId, oldest] = this.waiting.entries().next().value as [string, Half];
      this.waiting.delete(oldestId);
      this.unpaired(oldest);
    }
    this.waiting.set(id, half);
    return undefined;
  }

  get size(): number {
    return this.waiting.size;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private expire(): void {
    const limit = this.clock() - this.timeoutMs;
    // Insertion order is arrival order: stop at the first half still in time.
    for (const [id, half] of this.waiting) {
      if (half.receivedAtMs > limit) break;
      this.waiting.delete(id);
      this.unpaired(half);
    }
  }
}
