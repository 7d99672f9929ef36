import { Hono } from "hono";
import { bearerAuth, HttpError, isoTimeField, jsonObject, readBody, within } from "../../common/index.js";
import type { Store } from "../../store/index.js";
import type { AnalyzeRequest } from "../analyze.js";
import { storedMetrics } from "../results.js";
import type { AnalysisScheduler } from "../scheduler.js";

export interface AnalyzeRoutesOptions {
  /** Bearer tokens accepted (the read tokens); empty → no token needed. */
  tokens: readonly string[];
  /** Makes the records acknowledged so far visible, so an analysis includes what was just sent. */
  flushIngest: () => Promise<void>;
}

/**
 * `POST /analyze` with `{"models"?: [..], "from"?: ISO time, "to"?: ISO time}`: recomputes those windows
 * now (after any scheduled run in progress) and answers `{report, metrics}` — what `modelwatch analyze`
 * prints when a service owns the store.
 */
export function analyzeRoutes(
  store: Store,
  scheduler: AnalysisScheduler,
  options: AnalyzeRoutesOptions,
): Hono {
  const app = new Hono();
  app.use("/analyze", bearerAuth(options.tokens, "read"));
  app.post("/analyze", async (c) => {
    const body = await readBody(c, { maxBodyBytes: 64 * 1024, maxDecompressedBytes: 64 * 1024 });
    const request = parseAnalyzeRequest(body.length ? body.toString("utf8") : "{}");
    // What was just sent is included unless the store is down; the analysis then shows what it holds.
    await within(options.flushIngest(), 10_000);
    const report = await scheduler.runNow((analyzer) => analyzer.analyze(request));
    return c.json({ report, metrics: await storedMetrics(store, request) });
  });
  return app;
}

/** The request body, checked field by field. */
export function parseAnalyzeRequest(text: string): AnalyzeRequest {
  const v = jsonObject(text, '{"models": [...], "from": ..., "to": ...}');
  const request: { models?: string[]; fromMs?: number; toMs?: number } = {};
  if (v.models !== undefined) {
    if (!Array.isArray(v.models) || v.models.some((m) => typeof m !== "string"))
      throw new HttpError(400, "bad_request", "models must be an array of model names");
    request.models = v.models as string[];
  }
  for (const field of ["from", "to"] as const) {
    if (v[field] !== undefined) request[field === "from" ? "fromMs" : "toMs"] = isoTimeField(v, field);
  }
  return request;
}
