import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Directories made by tempDirectory and not removed yet. */
const live = new Set<string>();

/**
 * A benchmark stopped by Ctrl-C or a kill still removes its directories: a store of the analysis bench is
 * 1.3 GB, and stopped runs left enough of them behind to fill the disk. An insert the engine is writing
 * meanwhile can leave a few empty directories behind.
 */
function removeOnSignal(signal: NodeJS.Signals, code: number): void {
  process.once(signal, () => {
    for (const path of live) removeWhileWritten(path);
    process.exit(code);
  });
}

/** Removes the directory, trying again while the engine is still creating files in it; best effort. */
function removeWhileWritten(path: string): void {
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      rmSync(path, { recursive: true, force: true });
      return;
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); // the signal handler cannot await
    }
  }
}

let signalsHandled = false;

export function tempDirectory(prefix: string): { path: string; remove: () => void } {
  if (!signalsHandled) {
    removeOnSignal("SIGINT", 130);
    removeOnSignal("SIGTERM", 143);
    signalsHandled = true;
  }
  const path = mkdtempSync(join(tmpdir(), prefix));
  live.add(path);
  return {
    path,
    remove: () => {
      rmSync(path, { recursive: true, force: true });
      live.delete(path);
    },
  };
}
