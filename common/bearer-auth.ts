import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { HttpError } from "./http-error.js";

/**
 * Requires `Authorization: Bearer <token>` matching one of `tokens`; with no tokens configured it lets
 * every request through. Tokens are compared as SHA-256 digests in constant time, so neither their content
 * nor their length leaks through timing.
 */
export function bearerAuth(tokens: readonly string[], realm: string): MiddlewareHandler {
  const digests = tokens.map(digest);
  return async (c, next) => {
    if (digests.length === 0) return next();
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    const presented = match ? digest((match[1] as string).trim()) : undefined;
    let ok = false;
    if (presented) for (const d of digests) ok = timingSafeEqual(d, presented) || ok;
    if (!ok) {
      throw new HttpError(
        401,
        "unauthorized",
        presented
          ? `the ${realm} token is not valid`
          : `send the ${realm} token as 'Authorization: Bearer <token>'`,
      );
    }
    return next();
  };
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
