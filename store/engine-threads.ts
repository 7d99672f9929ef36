import { readdirSync, readFileSync } from "node:fs";
import { setPriority } from "node:os";

/**
 * The embedded engine's worker threads, by the names ClickHouse gives its pools: merges, insert and query
 * pipelines, background schedules. Node's own threads (the event loop, decode threads, libuv) are not here.
 */
export const ENGINE_THREAD =
  /^(MergeMutate|ThreadPool|QueryPipeline|QueryCompPipe|QueryPullPipe|BgSchPool|BgMBSchPool|BgBufSchPool|BgDistSchPool|MergeTree|ParallelParsin|Squash)/;

/** How often threads the engine started since are looked for (its pools grow on demand). */
const SWEEP_MS = 2_000;

/**
 * Runs the embedded engine's threads at a lower CPU priority (a higher nice value) than the process's own,
 * so that on a busy machine answering ingest requests comes before merging and inserting what they
 * brought: the engine's work waits in the spool, a sender's does not. Linux only (a thread's nice value is
 * its own there); elsewhere, or when not permitted, nothing changes. Returns a stop function.
 */
export function lowerEngineThreadPriority(nice: number): () => void {
  if (process.platform !== "linux") return () => {};
  const lowered = new Set<string>();
  const sweep = (): void => {
    let tids: string[];
    try {
      tids = readdirSync("/proc/self/task");
    } catch {
      return;
    }
    for (const tid of lowered) if (!tids.includes(tid)) lowered.delete(tid); // ended: its id may be reused
    for (const tid of tids) {
      if (lowered.has(tid)) continue;
      try {
        if (!ENGINE_THREAD.test(readFileSync(`/proc/self/task/${tid}/comm`, "utf8"))) continue;
        setPriority(Number(tid), nice);
        lowered.add(tid);
      } catch {
        // The thread ended between listing and reading, or lowering is not permitted: leave it.
      }
    }
  };
  sweep();
  const timer = setInterval(sweep, SWEEP_MS);
  timer.unref();
  return () => clearInterval(timer);
}
