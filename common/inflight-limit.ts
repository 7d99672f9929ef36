import type { MiddlewareHandler } from "hono";
import { HttpError } from "./http-error.js";
import { megabytes } from "./megabytes.js";

export interface InflightLimitOptions {
  /** Request bytes (as sent) being read, decoded and written at once, past which requests are refused. */
  maxBytes: number;
  /** What a request without a Content-Length counts as (it may be as large as the body limit). */
  unknownLengthBytes: number;
  /** Sent as Retry-After. */
  retryAfterSeconds: number;
}

/**
 * Bounds the work in progress by its bytes: past the bound a request is answered 503 with Retry-After
 * before its body is read, so memory stays bounded whatever the offered load, and OTLP senders retry
 * later, as the spec tells them to. One request is always taken, however large (the body limit bounds it).
 */
export function inflightLimit(options: InflightLimitOptions): MiddlewareHandler {
  let inflight = 0;
  return async (c, next) => {
    const declared = Number(c.req.header("content-length"));
    const bytes = Number.isSafeInteger(declared) && declared >= 0 ? declared : options.unknownLengthBytes;
    if (inflight > 0 && inflight + bytes > options.maxBytes) {
      throw new HttpError(
        503,
        "overloaded",
        `the service is busy with ${megabytes(inflight)} MB of requests (bound ${megabytes(options.maxBytes)} MB); retry in ${options.retryAfterSeconds} s`,
        options.retryAfterSeconds,
        true, // the body is left unread
      );
    }
    inflight += bytes;
    try {
      await next();
    } finally {
      inflight -= bytes;
    }
  };
}
