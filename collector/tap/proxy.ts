import { type AddressInfo, createServer } from "node:net";
import type { CapturedCall } from "../inference/captured-call.js";
import { SWEEP_INTERVAL_MS, TapConnection, type TapUpstream, UPSTREAM_IDLE_MS } from "./connection.js";
import { UpstreamPool } from "./upstream-pool.js";

export { IDS_HEADER } from "./connection.js";

export interface TapOptions {
  /** The model server, e.g. http://127.0.0.1:8501 (plain HTTP/1.1). */
  upstream: URL;
  host: string;
  port: number;
  /** Bodies larger than this are passed through unrecorded. */
  maxRecordBytes: number;
  /**
   * Takes a recorded call (its bodies as they passed), with the number of predictions it should give; never
   * throws. Reading the bodies is the taker's work, off the proxy's event loop (ingest's decode threads).
   */
  record(call: CapturedCall, predictions: number): void;
  /**
   * Counts what the proxy decides (upstream_error, passed_through, too_large); what reading a recorded call
   * comes to (recorded, passed_through, unreadable_payload) is its taker's to count.
   */
  count?(outcome: TapOutcome): void;
}

export type TapOutcome =
  | "recorded"
  | "passed_through"
  | "upstream_error"
  | "unreadable_payload"
  | "too_large";

export interface RunningTap {
  port: number;
  close(): Promise<void>;
}

/** How long calls in progress may take to finish once the tap is closing. */
const CLOSE_GRACE_MS = 5_000;

/**
 * A reverse proxy in front of a model server: every request is forwarded as it is and every answer
 * returned as it is (status, headers, body, streamed: the bytes as they arrive, over an upstream
 * connection held by one client connection at a time, shared through a pool between calls), and inference calls it recognises (routes.ts) are recorded on the
 * side, one prediction per instance, once the answer has been sent: recording never delays it. The only
 * changes: a request's `Host` names the upstream, and recorded answers gain one header naming the
 * prediction ids (from the request's `X-Request-Id` when it has one) so clients can send labels. Upstream
 * errors pass through, counted; a model server that cannot be reached is answered for with a 502. Traffic
 * the proxy cannot follow as HTTP/1.1 (upgrades, CONNECT, malformed framing) is piped blind, counted as
 * passed through. Throws for an upstream that is not http: (the proxy does not speak TLS to it).
 */
export async function startTap(options: TapOptions): Promise<RunningTap> {
  const upstream = upstreamOf(options.upstream);
  const connections = new Set<TapConnection>();
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    const connection = new TapConnection(socket, upstream, options, () => connections.delete(connection));
    connections.add(connection);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const c of connections) c.closeIfIdle(now);
    upstream.pool.sweep(now);
  }, SWEEP_INTERVAL_MS).unref();
  return {
    port: (server.address() as AddressInfo).port,
    // Calls in progress finish (cut after a few seconds), idle connections close now.
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(sweep);
        upstream.pool.close();
        const forced = setTimeout(() => {
          for (const c of connections) c.destroy();
        }, CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(forced);
          setImmediate(resolve); // after the recordings the last answers scheduled
        });
        for (const c of connections) c.close();
      }),
  };
}

function upstreamOf(url: URL): TapUpstream {
  if (url.protocol !== "http:")
    throw new Error(`the tap forwards to a plain http: model server, not ${url.protocol} (${url.origin})`);
  const hostValue = Buffer.from(url.host, "latin1");
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || 80);
  return {
    pool: new UpstreamPool({ host, port }, UPSTREAM_IDLE_MS),
    hostValue,
    hostLine: Buffer.concat([Buffer.from("host: "), hostValue, Buffer.from("\r\n\r\n")]),
  };
}
