import { request as httpsRequest } from "node:https";
import { migrate, Store, StoreError } from "../store/index.js";
import type { Config } from "./config.js";

/** A failure the CLI prints as-is and exits 1 on. */
export class CliError extends Error {
  override readonly name = "CliError";
}

export interface LocalRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

/**
 * A request to the service on this machine. Over HTTPS the service's own certificate (from the config) is
 * the trust anchor, and the host name is not checked: the certificate names the host others reach it by,
 * not the loopback address the CLI uses.
 */
export function localFetch(url: string, init: LocalRequest = {}, ca?: string): Promise<Response> {
  const signal = init.timeoutMs ? AbortSignal.timeout(init.timeoutMs) : undefined;
  if (!url.startsWith("https:"))
    return fetch(url, { method: init.method, headers: init.headers, body: init.body, signal });
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: init.method ?? "GET",
        headers: init.headers,
        ca,
        checkServerIdentity: () => undefined,
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") headers.set(k, v);
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers }));
        });
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

/** Whether a modelwatch service answers at `base` (then it owns the embedded store, and commands ask it). */
export async function serviceAnswers(base: string, ca?: string): Promise<boolean> {
  try {
    const res = await localFetch(`${base}/healthz`, { timeoutMs: 1_000 }, ca);
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * With no service running, a command opens the store itself: migrated, handed to `work`, closed after;
 * store failures become messages for the user.
 */
export async function withOwnStore<T>(
  config: Config,
  base: string,
  work: (store: Store) => Promise<T>,
): Promise<T> {
  let store: Store;
  try {
    store = await Store.open({ ...config.clickhouse, dataDir: config.dataDir });
  } catch (err) {
    throw new CliError(
      `no service answers at ${base}, and the store cannot be opened: ${(err as Error).message}`,
    );
  }
  try {
    await migrate(store, { retentionDays: config.retentionDays });
    return await work(store);
  } catch (err) {
    if (err instanceof StoreError) throw new CliError(err.message);
    throw err;
  } finally {
    await store.close();
  }
}

/** Rows as aligned text columns under a header, one line each. */
export function textTable(header: readonly string[], lines: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const row = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  return `${[row(header), ...lines.map(row)].join("\n")}\n`;
}
