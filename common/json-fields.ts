import { HttpError } from "./http-error.js";

/** A request body's JSON, or HttpError 400 `malformed_json`. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "malformed_json", "the body is not JSON");
  }
}

/** A body that must be a JSON object; `shape` tells the sender what to send instead. */
export function jsonObject(text: string, shape: string): Record<string, unknown> {
  const value = parseJson(text);
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new HttpError(400, "bad_request", `send a JSON object: ${shape}`);
  return value as Record<string, unknown>;
}

/** A field holding an ISO 8601 time, as epoch ms, or HttpError 400 naming the field. */
export function isoTimeField(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  const ms = typeof v === "string" ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(ms)) throw new HttpError(400, "bad_request", `${field} must be an ISO 8601 time`);
  return ms;
}
