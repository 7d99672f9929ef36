import { Hono } from "hono";
import { type BodyLimits, bearerAuth, errorResponse, HttpError, readBody } from "../../common/index.js";
import type { Ingest } from "../ingest.js";
import { decodeNdjson } from "../ndjson.js";
import { decodeLogsJson, decodeTracesJson, JsonShapeError } from "../otlp/json.js";
import { decodeLogsRequest } from "../otlp/logs-proto.js";
import { exportResponse, type OtlpEncoding, type OtlpSignal, statusBody } from "../otlp/responses.js";
import { decodeTracesRequest } from "../otlp/traces-proto.js";
import { WireError } from "../otlp/wire.js";
import type { RecordSink } from "../record-sink.js";
import type { WriteOutcome } from "../spool/index.js";
import type { CollectorMetrics } from "../telemetry.js";

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
    super(err.status, err.code, err.message, err.retryAfterSeconds, err.closeConnection);
  }

  override toResponse(): Response {
    const body = statusBody(this.encoding, GRPC_CODE[this.status] ?? 2, this.message);
    return new Response(body, { status: this.status, headers: this.headers(contentTypeOf(this.encoding)) });
  }
}

type Decoder = (body: Buffer, sink: RecordSink) => void;

const DECODERS: Record<OtlpSignal, Record<OtlpEncoding, Decoder>> = {
  logs: {
    protobuf: decodeLogsRequest,
    json: (body, sink) => decodeLogsJson(JSON.parse(decodeText(body)), sink),
  },
  traces: {
    protobuf: decodeTracesRequest,
    json: (body, sink) => decodeTracesJson(JSON.parse(decodeText(body)), sink),
  },
};

/** OTLP/HTTP (`/v1/logs`, `/v1/traces`) and NDJSON (`/v1/events`) ingest. */
export function collectorRoutes(
  ingest: Ingest,
  metrics: CollectorMetrics,
  options: CollectorHttpOptions,
): Hono {
  const app = new Hono();
  // OTLP answers errors with a google.rpc.Status in the request's encoding (JSON when that is unknown),
  // whichever step refused the request, the token check included.
  app.onError((err, c) => {
    const otlp = c.req.path === "/v1/logs" || c.req.path === "/v1/traces";
    if (otlp && err instanceof HttpError) {
      return new OtlpHttpError(err, otlpEncoding(c.req.header("content-type")) ?? "json").toResponse();
    }
    return errorResponse(err);
  });
  app.use("/v1/*", async (c, next) => {
    try {
      await next();
    } finally {
      // The matched pattern, not the raw path: a label value per path sent would let anyone grow /metrics.
      metrics.requests.add(1, { route: c.req.routePath, status: String(c.res.status) });
    }
  });
  app.use("/v1/*", bearerAuth(options.ingestTokens, "ingest"));

  for (const signal of ["logs", "traces"] as const) {
    app.post(`/v1/${signal}`, async (c) => {
      const encoding = otlpEncoding(c.req.header("content-type"));
      if (!encoding) throw unsupportedContentType(c.req.header("content-type"));
      const body = await readBody(c, options.body);
      const decoder = DECODERS[signal][encoding];
      const result = await ingest.ingest(
        (sink) => decode(() => decoder(body, sink)),
        signal === "logs" ? "otlp-logs" : "otlp-traces",
        signal,
      );
      assertWritten(result.write, options.retryAfterSeconds);
      return new Response(exportResponse(signal, encoding, result.rejections.length, result.errorMessage), {
        status: 200,
        headers: { "content-type": contentTypeOf(encoding) },
      });
    });
  }

  app.post("/v1/events", async (c) => {
    const body = await readBody(c, options.body);
    const text = decodeText(body);
    if (text.trim() === "") {
      throw new HttpError(400, "empty_body", "the body has no events: send one JSON object per line");
    }
    let decoded: ReturnType<typeof decodeNdjson> = { lines: [], errors: [] };
    const result = await ingest.ingest(
      (sink) => {
        decoded = decodeNdjson(text, sink);
      },
      "events",
      "events",
    );
    for (const _ of decoded.errors) metrics.rejected.add(1, { signal: "events", reason: "malformed_line" });
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

/** Runs a decoder, turning a malformed body into a 400 that says what is wrong. */
function decode(run: () => void): void {
  try {
    run();
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

function otlpEncoding(contentType: string | undefined): OtlpEncoding | undefined {
  const type = (contentType ?? "").split(";", 1)[0]?.trim().toLowerCase();
  if (type === "application/x-protobuf" || type === "application/protobuf") return "protobuf";
  if (type === "application/json") return "json";
  return undefined;
}

function unsupportedContentType(contentType: string | undefined): HttpError {
  return new HttpError(
    400,
    "unsupported_content_type",
    `Content-Type ${contentType ? JSON.stringify(contentType) : "(none)"} is not OTLP: use application/x-protobuf or application/json`,
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
