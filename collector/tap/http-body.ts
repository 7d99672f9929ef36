import type { HeadFields } from "./http-head.js";

/** How a message's body is delimited (RFC 9112 §6.3), as its head says. */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" };

/** No body: after a HEAD request, 1xx, 204, 304. */
export const NO_BODY: BodyFraming = { kind: "none" };
const CHUNKED: BodyFraming = { kind: "chunked" };
const CLOSE: BodyFraming = { kind: "close" };

/** A request's body (RFC 9112 §6.3): chunked, by Content-Length, or none; both at once is not followed. */
export function requestBody(fields: HeadFields): BodyFraming | string {
  const te = fields.all("transfer-encoding");
  const length = contentLength(fields);
  if (te !== undefined) {
    if (length !== undefined) return "both Transfer-Encoding and Content-Length";
    return finalCodingIsChunked(te) ? CHUNKED : "a request body in a transfer coding other than chunked";
  }
  if (typeof length === "string") return length;
  return length === undefined || length === 0 ? { kind: "length", length: 0 } : { kind: "length", length };
}

/** A response's body: chunked (Transfer-Encoding overrides Content-Length), by Content-Length, or until the close. */
export function responseBody(fields: HeadFields): BodyFraming | string {
  const te = fields.all("transfer-encoding");
  if (te !== undefined) return finalCodingIsChunked(te) ? CHUNKED : CLOSE;
  const length = contentLength(fields);
  if (typeof length === "string") return length;
  return length === undefined ? CLOSE : { kind: "length", length };
}

/** Content-Length: one value (repeated identically at most), digits only. */
function contentLength(fields: HeadFields): number | string | undefined {
  const all = fields.all("content-length");
  if (all === undefined) return undefined;
  let length: number | undefined;
  for (const part of all.split(",")) {
    const v = part.trim();
    if (!/^\d{1,15}$/.test(v)) return `a malformed Content-Length ${JSON.stringify(all)}`;
    const n = Number(v);
    if (length !== undefined && n !== length)
      return `conflicting Content-Length values ${JSON.stringify(all)}`;
    length = n;
  }
  return length;
}

function finalCodingIsChunked(te: string): boolean {
  const codings = te.split(",");
  return (codings[codings.length - 1] as string).trim().toLowerCase() === "chunked";
}
