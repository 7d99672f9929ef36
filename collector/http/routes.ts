import { Hono } from "hono";
import { bearerAuth, HttpError } from "../../common/index.js";
import type { WriteOutcome } from "../batch-writer.js";
import type { Ingest } from "../ingest.js";
import { decodeNdjson } from "../ndjson.js";
import { decodeLogsJson, decodeTracesJson, JsonShapeError } from "../otlp/json.js";
import { decodeLogsRequest } from "../otlp/logs-proto.js";
import type { RawRecord } from "../otlp/record.js";
import { exportResponse, type OtlpEncoding, type OtlpSignal, statusBody } from "../otlp/responses.js";
import { decodeTracesRequest } from "../otlp/traces-proto.js";
import { WireError } from "../otlp/wire.js";
import type { CollectorMetrics } from "../telemetry.js";
import { type BodyLimits, readBody } from "./body.js";

export interface CollectorHttpOptions {
  body: BodyLimits;
  /** Bearer tokens accepted for ingest; empty → no token needed. */
  ingestTokens: readonly string[];
  /** Sent as Retry-After when the store cannot take more. */
  retryAfterSeconds: number;
}

/** gRPC status codes carried in OTLP/HTTP error bodies (google.rpc.Status). */
const GRPC_CODE: Record<number, number> = { 400: 3, 401: 16, 403: 7, 413: 8, 429: 8, 503: 14, 500: 13 };

/** An HttpError rendered as OTLP says: a google.rpc.Status in the request's encoding. */
class OtlpHttpError extends HttpError {
  constructor(
    err: HttpError,
    private readonly encoding: OtlpEncoding,
  ) {
    super(err.status, err.code, err.message, err.retryAfterSeconds);
  }

  override toResponse(): Response {
    const body = statusBody(this.encoding, GRPC_CODE[this.status] ?? 2, this.message);
    return new Response(body, { status: this.status, headers: this.headers(contentTypeOf(this.encoding)) });
  }
}

const DECODERS: Record<OtlpSignal, Record<OtlpEncoding, (body: Buffer) => RawRecord[]>> = {
  logs: {
    protobuf: decodeLogsRequest,
    json: (body) => decodeLogsJson(JSON.parse(body.toString("utf8"))),
  },
  traces: {
    protobuf: decodeTracesRequest,
    json: (body) => decodeTracesJson(JSON.parse(body.toString("utf8"))),
  },
};

/** OTLP/HTTP (`/v1/logs`, `/v1/traces`) and NDJSON (`/v1/events`) ingest. */
export function collectorRoutes(
  ingest: Ingest,
  metrics: CollectorMetrics,
  options: CollectorHttpOptions,
): Hono {
  const app = new Hono();
  app.use("/v1/*", async (c, next) => {
    try {
      await next();
    } finally {
      metrics.requests.add(1, { route: c.req.path, status: String(c.res.status) });
    }
  });
  app.use("/v1/*", bearerAuth(options.ingestTokens, "ingest"));

  for (const signal of ["logs", "traces"] as const) {
    app.post(`/v1/${signal}`, async (c) => {
      const encoding = otlpEncoding(c.req.header("content-type"));
      try {
        const body = await readBody(c, options.body);
        const records = decode(signal, encoding, body);
        const result = await ingest.ingest(records, signal === "logs" ? "otlp-logs" : "otlp-traces", signal);
        assertWritten(result.write, options.retryAfterSeconds);
        return new Response(exportResponse(signal, encoding, result.rejected, result.errorMessage), {
          status: 200,
          headers: { "content-type": contentTypeOf(encoding) },
        });
      } catch (err) {
        throw err instanceof HttpError ? new OtlpHttpError(err, encoding) : err;
      }
    });
  }

  app.post("/v1/events", async (c) => {
    const body = await readBody(c, options.body);
    const text = decodeText(body);
    const decoded = decodeNdjson(text);
    if (decoded.records.length === 0 && decoded.errors.length === 0) {
      throw new HttpError(400, "empty_body", "the body has no events: send one JSON object per line");
    }
    for (const _ of decoded.errors) metrics.rejected.add(1, { signal: "events", reason: "malformed_line" });
    const result = await ingest.ingest(decoded.records, "events", "events");
    assertWritten(result.write, options.retryAfterSeconds);
    const errors = [
      ...decoded.errors.map((e) => ({ line: e.line, message: e.message })),
      ...result.rejections.map((r) => ({ line: decoded.lines[r.index] as number, message: r.message })),
    ].sort((a, b) => a.line - b.line);
    const status = result.accepted === 0 && errors.length > 0 ? 400 : 200;
    return c.json(
      { accepted: result.accepted, rejected: errors.length, errors: errors.slice(0, 100) },
      status,
    );
  });

  return app;
}

function decode(signal: OtlpSignal, encoding: OtlpEncoding, body: Buffer): RawRecord[] {
  try {
    return DECODERS[signal][encoding](body);
  } catch (err) {
    if (err instanceof WireError)
      throw new HttpError(400, "malformed_protobuf", `malformed protobuf: ${err.message}`);
    if (err instanceof JsonShapeError)
      throw new HttpError(400, "malformed_json", `malformed OTLP/JSON: ${err.message}`);
    if (err instanceof SyntaxError)
      throw new HttpError(400, "malformed_json", `the body is not JSON: ${err.message}`);
    throw err;
  }
}

function otlpEncoding(contentType: string | undefined): OtlpEncoding {
  const type = (contentType ?? "").split(";", 1)[0]?.trim().toLowerCase();
  if (type === "application/x-protobuf" || type === "application/protobuf") return "protobuf";
  if (type === "application/json") return "json";
  throw new OtlpHttpError(
    new HttpError(
      400,
      "unsupported_content_type",
      `Content-Type ${contentType ? JSON.stringify(contentType) : "(none)"} is not OTLP: use application/x-protobuf or application/json`,
    ),
    "json",
  );
}

function contentTypeOf(encoding: OtlpEncoding): string {
  return encoding === "json" ? "application/json" : "application/x-protobuf";
}

function assertWritten(write: WriteOutcome, retryAfterSeconds: number): void {
  if (write.ok) return;
  throw new HttpError(503, write.reason, `${write.message}; retry later`, retryAfterSeconds);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeText(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new HttpError(400, "invalid_utf8", "the body is not valid UTF-8");
  }
}
