import { randomUUID } from "node:crypto";
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { inferenceEvents } from "../inference/events.js";
import { readInferences } from "../inference/pair.js";
import type { InferenceRecord, ModelMapping } from "../inference/payload.js";
import { type TapRoute, tapRoute } from "./routes.js";
import { readTorchServe } from "./torchserve.js";

export interface TapOptions {
  /** The model server, e.g. http://127.0.0.1:8501. */
  upstream: URL;
  host: string;
  port: number;
  mappings: Readonly<Record<string, ModelMapping>>;
  /** Bodies larger than this are passed through unrecorded. */
  maxRecordBytes: number;
  /** Takes what was recorded, as NDJSON ml.prediction events; never throws. */
  record(events: string, count: number): void;
  /** Counts what happened, by outcome (recorded, unreadable, upstream_error, too_large, …). */
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

/** The response header naming the prediction ids recorded for the request's instances, in order. */
export const IDS_HEADER = "x-modelwatch-prediction-ids";

/**
 * A reverse proxy in front of a model server: every request is forwarded as it is and every answer
 * returned as it is (status, headers, body, streamed), and inference calls it recognises (routes.ts) are
 * recorded on the side, one prediction per instance, once the answer has been sent: recording never delays
 * it. The only change is one header on recorded answers, naming the prediction ids (from the request's
 * `X-Request-Id` when it has one) so clients can send labels. Upstream errors pass through, counted.
 */
export async function startTap(options: TapOptions): Promise<RunningTap> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const server: Server = createServer((req, res) => proxy(req, res, options, agent));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    // Calls in progress finish (cut after a few seconds); then the upstream connections go.
    close: () =>
      new Promise<void>((resolve) => {
        const forced = setTimeout(() => server.closeAllConnections(), 5_000);
        server.close(() => {
          clearTimeout(forced);
          agent.destroy();
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

function proxy(req: IncomingMessage, res: ServerResponse, options: TapOptions, agent: Agent): void {
  const started = performance.now();
  const route = tapRoute(req.method ?? "", req.url ?? "");
  const requestBody = route ? new Collector(options.maxRecordBytes) : undefined;
  let ids: string[] | undefined;
  const upstream = httpRequest(
    new URL(req.url ?? "/", options.upstream),
    { method: req.method, headers: { ...req.headers, host: options.upstream.host }, agent },
    (answer) => {
      const status = answer.statusCode ?? 502;
      const headers: OutgoingHttpHeaders = { ...answer.headers };
      if (route && status < 400 && requestBody?.done) {
        ids = predictionIds(route, requestBody.json(), req.headers["x-request-id"]);
        if (ids) headers[IDS_HEADER] = ids.join(",");
      }
      res.writeHead(status, answer.statusMessage, headers);
      const responseBody = route && status < 400 ? new Collector(options.maxRecordBytes) : undefined;
      answer.on("data", (chunk: Buffer) => {
        responseBody?.add(chunk);
        res.write(chunk);
      });
      answer.on("end", () => {
        res.end();
        if (!route) return;
        if (status >= 400) {
          options.count?.("upstream_error");
          return;
        }
        const latencyMs = performance.now() - started;
        // After the answer is on its way: the recording costs the client nothing.
        setImmediate(() => record(route, requestBody, responseBody, ids, latencyMs, options));
      });
      answer.on("error", () => res.destroy());
    },
  );
  upstream.on("error", (err) => {
    options.count?.("upstream_error");
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(502, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        error: { code: "upstream_unreachable", message: `the model server did not answer: ${err.message}` },
      }),
    );
  });
  req.on("data", (chunk: Buffer) => requestBody?.add(chunk));
  req.on("end", () => requestBody?.finish());
  req.on("aborted", () => upstream.destroy());
  req.pipe(upstream);
}

/** The ids of a request's instances: its X-Request-Id (with -<i> for several), or fresh ones. */
function predictionIds(
  route: TapRoute,
  body: unknown,
  requestId: string | string[] | undefined,
): string[] | undefined {
  const n = instanceCount(route, body);
  return n ? idsFor(n, typeof requestId === "string" ? requestId : "") : undefined;
}

/** `n` prediction ids: the request's id (a fresh one without), with -<i> per instance when there are several. */
function idsFor(n: number, requestId: string): string[] {
  const base = requestId !== "" ? requestId : randomUUID();
  return n === 1 ? [base] : Array.from({ length: n }, (_, i) => `${base}-${i}`);
}

function instanceCount(route: TapRoute, body: unknown): number | undefined {
  const o = body as Record<string, unknown> | undefined;
  if (!o || typeof o !== "object") return undefined;
  if (route.protocol === "v2") {
    const first = (o.inputs as Array<{ shape?: number[] }> | undefined)?.[0];
    return Array.isArray(first?.shape) ? Number(first.shape[0]) : undefined;
  }
  for (const k of ["instances", "examples", "inputs"]) {
    const v = o[k];
    if (Array.isArray(v)) return v.length;
    if (k === "inputs" && v && typeof v === "object") {
      const column = Object.values(v)[0];
      return Array.isArray(column) ? column.length : undefined;
    }
  }
  return route.protocol === "torchserve" ? 1 : undefined;
}

function record(
  route: TapRoute,
  requestBody: Collector | undefined,
  responseBody: Collector | undefined,
  ids: string[] | undefined,
  latencyMs: number,
  options: TapOptions,
): void {
  if (!requestBody?.done || !responseBody || requestBody.overflowed || responseBody.overflowed) {
    options.count?.("too_large");
    return;
  }
  const request = requestBody.json();
  const response = responseBody.json();
  const mapping = options.mappings[route.model] ?? {};
  let records: InferenceRecord[];
  let version = route.version;
  try {
    if (request === undefined || response === undefined) throw new Error("not JSON");
    if (route.protocol === "torchserve") records = readTorchServe(request, response, mapping);
    else {
      const read = readInferences(request, response, mapping);
      records = read.records;
      version ||= read.version ?? "";
    }
  } catch {
    // TorchServe's non-JSON bodies (images, text) and anything unreadable pass through unrecorded.
    options.count?.(route.protocol === "torchserve" ? "passed_through" : "unreadable_payload");
    return;
  }
  if (records.length === 0) return;
  options.record(
    inferenceEvents(records, {
      model: route.model,
      version,
      // The ids the answer named, or (the request body was still arriving then) fresh ones.
      ids: ids?.length === records.length ? ids : idsFor(records.length, ""),
      timeMs: Date.now(),
      latencyMs,
    }),
    records.length,
  );
  options.count?.("recorded");
}

/** A body's chunks kept up to a bound, read as JSON once complete. */
class Collector {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  overflowed = false;
  done = false;
  private parsed: unknown;
  private read = false;

  constructor(private readonly max: number) {}

  add(chunk: Buffer): void {
    if (this.overflowed) return;
    this.size += chunk.length;
    if (this.size > this.max) {
      this.overflowed = true;
      this.chunks.length = 0;
      return;
    }
    this.chunks.push(chunk);
  }

  finish(): void {
    this.done = true;
  }

  /** The body as JSON, or undefined when it is not JSON (or was too large). */
  json(): unknown {
    if (!this.read) {
      this.read = true;
      try {
        this.parsed = this.overflowed ? undefined : JSON.parse(Buffer.concat(this.chunks).toString("utf8"));
      } catch {
        this.parsed = undefined;
      }
    }
    return this.parsed;
  }
}
