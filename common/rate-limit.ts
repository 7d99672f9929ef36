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
 * A token bucket per key: `take(key)` answers undefined when the key may go on, or the seconds until it may.
 * Protocol-neutral: HTTP answers 429 with Retry-After (rateLimit below), gRPC RESOURCE_EXHAUSTED with
 * RetryInfo.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly clock: () => number;

  constructor(private readonly options: RateLimitOptions) {
    this.clock = options.clock ?? (() => performance.now());
  }

  take(key: string): number | undefined {
    const { perSecond, burst } = this.options;
    if (perSecond <= 0) return undefined;
    const now = this.clock();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) this.forgetFull(now);
      bucket = { tokens: burst, at: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
    bucket.tokens -= 1;
    return undefined;
  }

  private forgetFull(now: number): void {
    for (const [key, b] of this.buckets)
      if (b.tokens + ((now - b.at) / 1000) * this.options.perSecond >= this.options.burst)
        this.buckets.delete(key);
  }
}

/**
 * A token bucket per key (an ingest token, or the client's address when no token is configured): past
 * the rate, `429` with `Retry-After` saying when the next request will be taken, which OTLP exporters
 * honour by retrying later.
 */
export function rateLimit(options: RateLimitOptions, keyOf: (c: Context) => string): MiddlewareHandler {
  const limiter = new RateLimiter(options);
  return async (c, next) => {
    const waitSeconds = limiter.take(keyOf(c));
    if (waitSeconds !== undefined)
      throw new HttpError(
        429,
        "rate_limited",
        `more than ${options.perSecond} requests per second for this sender; retry in ${waitSeconds} s`,
        waitSeconds,
      );
    return next();
  };
}
