import type { MiddlewareHandler } from "hono";
import { HttpError } from "./http-error.js";
import { megabytes } from "./megabytes.js";

/**
 * The request bytes being read, decoded and written at once, across every receiver (OTLP/HTTP, NDJSON,
 * OTLP/gRPC): past `maxBytes` new requests are refused, so memory stays bounded whatever the offered load.
 * One request is always taken, however large (the body limit bounds it).
 */
export class InflightBudget {
  private inflight = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.inflight;
  }

  /** Takes room for a request of `bytes`, or answers false when there is none. */
  tryTake(bytes: number): boolean {
    if (this.inflight > 0 && this.inflight + bytes > this.maxBytes) return false;
    this.inflight += bytes;
    return true;
  }

  give(bytes: number): void {
    this.inflight -= bytes;
  }

  /** Why a request was refused, for the sender. */
  refusal(retryAfterSeconds: number): string {
    return `the service is busy with ${megabytes(this.inflight)} MB of requests (bound ${megabytes(this.maxBytes)} MB); retry in ${retryAfterSeconds} s`;
  }
}

export interface InflightLimitOptions {
  budget: InflightBudget;
  /** What a request without a Content-Length counts as (it may be as large as the body limit). */
  unknownLengthBytes: number;
  /** Sent as Retry-After. */
  retryAfterSeconds: number;
}

/**
 * Bounds the work in progress by its bytes: past the budget a request is answered 503 with Retry-After
 * before its body is read, and OTLP senders retry later, as the spec tells them to.
 */
export function inflightLimit(options: InflightLimitOptions): MiddlewareHandler {
  const { budget } = options;
  return async (c, next) => {
    const declared = Number(c.req.header("content-length"));
    const bytes = Number.isSafeInteger(declared) && declared >= 0 ? declared : options.unknownLengthBytes;
    if (!budget.tryTake(bytes)) {
      throw new HttpError(
        503,
        "overloaded",
        budget.refusal(options.retryAfterSeconds),
        options.retryAfterSeconds,
        true, // the body is left unread
      );
    }
    try {
      await next();
    } finally {
      budget.give(bytes);
    }
  };
}
