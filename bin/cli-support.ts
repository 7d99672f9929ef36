import { request as httpsRequest } from "node:https";

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
