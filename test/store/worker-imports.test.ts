import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

/** Every module a source file loads, transitively: our files by path, packages by name. */
function loads(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    const id = relative(ROOT, file);
    if (seen.has(id)) return;
    seen.add(id);
    const source = readFileSync(file, "utf8");
    // Static imports and re-exports that bring code (type-only ones load nothing at run time).
    for (const m of source.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+"([^"]+)"/gms)) {
      const spec = m[1] as string;
      if (spec.startsWith(".")) visit(join(dirname(file), spec.replace(/\.js$/, ".ts")));
      else seen.add(spec);
    }
  };
  visit(join(ROOT, entry));
  return seen;
}

describe("worker threads", () => {
  it("never load the embedded engine (ending such a thread would leave the process's engine unable to answer)", () => {
    for (const worker of ["collector/decode-worker.ts", "shadow/live/mirror-worker.ts"]) {
      const modules = [...loads(worker)];
      expect(modules.length, worker).toBeGreaterThan(3);
      expect(
        modules.filter(
          (m) =>
            m === "chdb" || m.startsWith("chdb/") || m.startsWith("@clickhouse/") || m === "store/client.ts",
        ),
        worker,
      ).toEqual([]);
    }
    // The check itself sees the engine where it is loaded.
    expect(loads("store/index.ts").has("store/client.ts")).toBe(true);
  });
});
