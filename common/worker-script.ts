import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * A worker thread's script: the built file beside the module that starts it, or, when that module runs
 * from the TypeScript sources (the tests), the built copy under dist/ (`npm test` builds first).
 */
export function workerScript(beside: URL, built: URL): URL {
  return existsSync(fileURLToPath(beside)) ? beside : built;
}
