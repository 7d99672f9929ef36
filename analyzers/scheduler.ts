import { type CurrentValue, currentValues, type Store } from "../store/index.js";
import type { AnalysisReport, Analyzer } from "./analyze.js";
import { type LastPrediction, lastPredictions } from "./results.js";

export interface SchedulerEvents {
  ran?(report: AnalysisReport): void;
  failed?(error: unknown): void;
}

/**
 * Runs the incremental analysis every `intervalMs` inside `serve` (never two at once) and keeps the newest
 * values for /metrics. `runNow()` is the on-demand path; it waits for a run in progress first.
 */
export class AnalysisScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private present: CurrentValue[] = [];
  private readonly lastReceived = new Map<string, LastPrediction>();

  constructor(
    private readonly analyzer: Analyzer,
    private readonly store: Store,
    private readonly intervalMs: number,
    private readonly events: SchedulerEvents = {},
  ) {}

  get latest(): readonly CurrentValue[] {
    return this.present;
  }

  /** When each model version's newest prediction was received, as of the last run. */
  get lastPredictions(): readonly LastPrediction[] {
    return [...this.lastReceived.values()];
  }

  /** Loads the newest values already stored, then runs at once and every interval (0: on demand only). */
  async start(): Promise<void> {
    this.present = await currentValues(this.store).catch(() => []);
    await this.refreshLastPredictions().catch(() => {});
    if (this.intervalMs > 0) this.schedule(0);
  }

  /** Waits for a run in progress, then stops scheduling. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.settled();
  }

  /** Runs `work` (an analysis) after any run in progress, then refreshes the exported values. */
  async runNow<T>(work: (analyzer: Analyzer) => Promise<T>): Promise<T> {
    while (this.running) await this.settled();
    let result!: T;
    this.running = (async () => {
      result = await work(this.analyzer);
      this.present = await currentValues(this.store);
      await this.refreshLastPredictions();
    })().finally(() => {
      this.running = undefined;
    });
    await this.running;
    return result;
  }

  /**
   * Learns what was received since the newest time known (less a minute, for inserts that became visible
   * late): the first call reads every prediction, later ones only recent parts.
   */
  private async refreshLastPredictions(): Promise<void> {
    let newest = 0;
    for (const p of this.lastReceived.values()) newest = Math.max(newest, p.receivedMs);
    for (const p of await lastPredictions(this.store, newest === 0 ? 0 : newest - 60_000)) {
      const key = `${p.model}\u0000${p.modelVersion}`;
      const known = this.lastReceived.get(key);
      if (!known || p.receivedMs > known.receivedMs) this.lastReceived.set(key, p);
    }
  }

  /** The run in progress has ended; its failure is its own caller's, not whoever waits behind it. */
  private settled(): Promise<void> {
    return (this.running ?? Promise.resolve()).catch(() => {});
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      try {
        this.events.ran?.(await this.runNow((a) => a.analyzeChanges()));
      } catch (err) {
        this.events.failed?.(err);
      }
      this.schedule(this.intervalMs);
    }, delayMs);
    this.timer.unref();
  }
}
