import { readlinkSync, writeFileSync } from "node:fs";
import { setPriority } from "node:os";

/**
 * Names the calling thread and, when asked, sets its CPU priority (its nice value), on Linux through
 * /proc/thread-self, which is the calling thread's own entry (synchronous fs calls run on it). The name shows
 * in `top -H` and /proc, so an operator (and bench/) can tell modelwatch's threads apart; the priority lets
 * work that can wait (shadow inference) yield the cores to ingest, and the tap's proxy go first. Best effort:
 * elsewhere, or when not permitted (a negative nice value needs CAP_SYS_NICE), nothing changes.
 */
export function describeThisThread(name: string, nice?: number): void {
  if (process.platform !== "linux") return;
  try {
    writeFileSync("/proc/thread-self/comm", name.slice(0, 15)); // the kernel keeps 15 bytes
    if (nice !== undefined) setPriority(Number(readlinkSync("/proc/thread-self").split("/").pop()), nice);
  } catch {
    // Not permitted here (or /proc is not mounted): the thread keeps its name and priority.
  }
}
