import type { Context, MiddlewareHandler } from "hono";
import { HttpError } from "./http-error.js";

export interface RateLimitOptions {
  /** Requests per second each key may make, on average; 0 turns the limit off. */
  perSecond: number;
  /** Requests a key may make at once after being idle. */
  burst: number;
  clock?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Idle buckets are forgotten past this many keys, so a spray of addresses cannot grow memory. */
const MAX_BUCKETS = 10_000;

/**
 * A token bucket per key (an ingest token, or the client's address when no token is configured): past
 * the rate, `429` with `Retry-After` saying when the next request will be taken, which OTLP exporters
 * honour by retrying later.
 */
export function rateLimit(options: RateLimitOptions, keyOf: (c: Context) => string): MiddlewareHandler {
  const clock = options.clock ?? (() => performance.now());
  const buckets = new Map<string, Bucket>();
  return async (c, next) => {
    if (options.perSecond <= 0) return next();
    const now = clock();
    const key = keyOf(c);
    let bucket = buckets.get(key);
    if (!bucket) {
      if (buckets.size >= MAX_BUCKETS) forgetFull(buckets, now, options);
      bucket = { tokens: options.burst, at: now };
      buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(options.burst, bucket.tokens + ((now - bucket.at) / 1000) * options.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) {
      const waitSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / options.perSecond));
      throw new HttpError(
        429,
        "rate_limited",
        `more than ${options.perSecond} requests per second for this sender; retry in ${waitSeconds} s`,
        waitSeconds,
      );
    }
    bucket.tokens -= 1;
    return next();
  };
}

function forgetFull(buckets: Map<string, Bucket>, now: number, options: RateLimitOptions): void {
  for (const [key, b] of buckets) {
    if (b.tokens + ((now - b.at) / 1000) * options.perSecond >= options.burst) buckets.delete(key);
  }
}
