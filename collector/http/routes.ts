import type { Context } from "hono";
import { Hono } from "hono";
import {
  type BodyLimits,
  bearerAuth,
  errorResponse,
  HttpError,
  type InflightBudget,
  inflightLimit,
  rateLimit,
  readBody,
} from "../../common/index.js";
import type { Ingest, IngestResult } from "../ingest.js";
import { exportResponse, type OtlpEncoding, statusBody } from "../otlp/responses.js";
import type { MalformedBody } from "../read-request.js";
import type { WriteOutcome } from "../spool/index.js";
import type { CollectorMetrics } from "../telemetry.js";

export interface CollectorHttpOptions {
  body: BodyLimits;
  /** Bearer tokens accepted for ingest; empty → no token needed. */
  ingestTokens: readonly string[];
  /** Requests per second per ingest token (per client address without tokens); 0: no limit. */
  ratePerSecond: number;
  /** Request bytes in progress at once (shared with the gRPC receiver), past which requests are answered 503 unread. */
  inflight: InflightBudget;
  /** Sent as Retry-After when the store cannot take more. */
  retryAfterSeconds: number;
  /** Receives errors that are bugs, not the sender's doing (answered 500). */
  onInternalError?: (err: unknown) => void;
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
    return errorResponse(err, options.onInternalError);
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
  app.use(
    "/v1/*",
    rateLimit({ perSecond: options.ratePerSecond, burst: Math.max(1, options.ratePerSecond) }, (c) =>
      // After the token check: a header that got here carries a valid token.
      options.ingestTokens.length > 0 ? (c.req.header("authorization") ?? "") : clientAddress(c),
    ),
  );

  app.use(
    "/v1/*",
    inflightLimit({
      budget: options.inflight,
      unknownLengthBytes: options.body.maxBodyBytes,
      retryAfterSeconds: options.retryAfterSeconds,
    }),
  );

  for (const signal of ["logs", "traces"] as const) {
    app.post(`/v1/${signal}`, async (c) => {
      const encoding = otlpEncoding(c.req.header("content-type"));
      if (!encoding) throw unsupportedContentType(c.req.header("content-type"));
      const body = await readBody(c, options.body);
      const result = readable(await ingest.ingest(`otlp-${signal}-${encoding}`, body, signal));
      assertWritten(result.write, options.retryAfterSeconds);
      return new Response(exportResponse(signal, encoding, result.rejections.length, result.errorMessage), {
        status: 200,
        headers: { "content-type": contentTypeOf(encoding) },
      });
    });
  }

  app.post("/v1/events", async (c) => {
    const body = await readBody(c, options.body);
    const result = readable(await ingest.ingest("ndjson", body, "events"));
    for (const _ of result.lineErrors)
      metrics.rejected.add(1, { signal: "events", reason: "malformed_line" });
    assertWritten(result.write, options.retryAfterSeconds);
    const errors = [
      ...result.lineErrors.map((e) => ({ line: e.line, message: e.message })),
      ...result.rejections.map((r) => ({ line: result.lines[r.index] as number, message: r.message })),
    ].sort((a, b) => a.line - b.line);
    const status = result.accepted === 0 && errors.length > 0 ? 400 : 200;
    return c.json(
      { accepted: result.accepted, rejected: errors.length, errors: errors.slice(0, 100) },
      status,
    );
  });

  return app;
}

/** A body that could not be read at all is a 400 that says what is wrong. */
function readable(result: IngestResult | MalformedBody): IngestResult {
  if (!result.ok) throw new HttpError(400, result.code, result.message);
  return result;
}

/** The peer's address on Node's server (the key of its rate limit when no tokens are configured). */
function clientAddress(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? "unknown";
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
