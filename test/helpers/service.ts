import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../bin/config.js";
import { type RunningService, type ServiceHooks, startService } from "../../bin/service.js";

/** A fresh data directory under the system temp dir; removed by the returned cleanup. */
export function tempDir(prefix = "modelwatch-test-"): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface TestService extends RunningService {
  dataDir: string;
  /** Rows of a query, as the engine returns them in JSONEachRow, once every acknowledged record is stored. */
  rows<T = Record<string, unknown>>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  stop(): Promise<void>;
}

/**
 * The real service on an ephemeral loopback port over a fresh embedded store. One per test file: chdb binds
 * one data directory per process, and vitest runs each file in its own process.
 */
export async function startTestService(
  flags: Record<string, string> = {},
  env: NodeJS.ProcessEnv = {},
  hooks: Omit<ServiceHooks, "log"> = {},
): Promise<TestService> {
  // A store of its own unless the test brings one (and removes it).
  const dir = flags["data-dir"] === undefined ? tempDir() : undefined;
  const dataDir = flags["data-dir"] ?? (dir?.path as string);
  const config = parseConfig(
    // Decoding on the event loop: decode threads run the built dist/ (DecodePool), tested on their own.
    {
      "data-dir": dataDir,
      "http-port": "0",
      "grpc-port": "0",
      "batch-flush-interval-ms": "5",
      "decode-threads": "0",
      ...flags,
    },
    env,
  );
  const service = await startService(config, env, { log: () => {}, ...hooks });
  return {
    ...service,
    dataDir,
    async rows<T>(sql: string, params?: Record<string, unknown>) {
      await service.flushed();
      const rs = await service.store.client.query({
        query: sql,
        query_params: params,
        format: "JSONEachRow",
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      });
      return rs.json<T>();
    },
    async stop() {
      await service.close();
      dir?.remove();
    },
  };
}

/** A response's JSON body, loosely typed for assertions. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers and assert on their shape
export async function jsonOf(res: Response): Promise<any> {
  return res.json();
}
