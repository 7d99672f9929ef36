import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { HttpError } from "./http-error.js";

/**
 * Requires `Authorization: Bearer <token>` matching one of `tokens`; with no tokens configured it lets
 * every request through. Tokens are compared as SHA-256 digests in constant time, so neither their content
 * nor their length leaks through timing.
 */
export function bearerAuth(tokens: readonly string[], realm: string): MiddlewareHandler {
  const check = bearerCheck(tokens);
  return async (c, next) => {
    const verdict = check(c.req.header("authorization"));
    if (verdict !== "ok") throw new HttpError(401, "unauthorized", unauthorizedMessage(verdict, realm));
    return next();
  };
}

/**
 * What an `Authorization` value is worth against `tokens`: "ok" (or no tokens configured), "missing" (no
 * bearer token), "invalid". Shared by every protocol (HTTP above, gRPC metadata).
 */
export function bearerCheck(
  tokens: readonly string[],
): (header: string | undefined) => "ok" | "missing" | "invalid" {
  const digests = tokens.map(digest);
  return (header) => {
    if (digests.length === 0) return "ok";
    const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
    if (!match) return "missing";
    const presented = digest((match[1] as string).trim());
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, presented) || ok;
    return ok ? "ok" : "invalid";
  };
}

/**
 * The read endpoints as ClickHouse's HTTP interface takes credentials, so its clients (`@clickhouse/client`,
 * Grafana's ClickHouse datasource, curl) can read: a token as a bearer, as the password of Basic auth
 * (any user name), or in `X-ClickHouse-Key`. With no tokens configured, every request passes.
 */
export function readAuth(tokens: readonly string[], realm: string): MiddlewareHandler {
  const check = bearerCheck(tokens);
  return async (c, next) => {
    const key = c.req.header("x-clickhouse-key");
    const basic = /^Basic\s+(.+)$/i.exec(c.req.header("authorization") ?? "");
    const password = basic
      ? Buffer.from(basic[1] as string, "base64")
          .toString("utf8")
          .split(":")
          .slice(1)
          .join(":")
      : undefined;
    const presented = key ?? password;
    const verdict = check(presented !== undefined ? `Bearer ${presented}` : c.req.header("authorization"));
    if (verdict !== "ok") throw new HttpError(401, "unauthorized", unauthorizedMessage(verdict, realm));
    return next();
  };
}

/** What a refused sender is told. */
export function unauthorizedMessage(verdict: "missing" | "invalid", realm: string): string {
  return verdict === "invalid"
    ? `the ${realm} token is not valid`
    : `send the ${realm} token as 'Authorization: Bearer <token>'`;
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}
