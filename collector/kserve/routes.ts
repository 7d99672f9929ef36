import { Hono } from "hono";
import { type BodyLimits, bearerAuth, HttpError, readBody } from "../../common/index.js";
import { encodeCallBatch } from "../inference/call-batch.js";
import type { CapturedCall } from "../inference/captured-call.js";
import type { ModelMapping } from "../inference/payload.js";
import type { Ingest } from "../ingest.js";
import type { CollectorMetrics } from "../telemetry.js";
import { type Half, PendingHalves } from "./pairs.js";

export interface KServeSinkOptions {
  body: BodyLimits;
  ingestTokens: readonly string[];
  /** Halves waiting for their other half at most, and for how long (ms). */
  maxPending: number;
  pairTimeoutMs: number;
  /** Per model (the InferenceService's name): how to read its payloads. */
  mappings: Readonly<Record<string, ModelMapping>>;
}

const TYPES: Record<string, Half["kind"]> = {
  "org.kubeflow.serving.inference.request": "request",
  "org.kubeflow.serving.inference.response": "response",
};

/**
 * `POST /v1/kserve`: the sink of KServe's payload logger (`logger.url`), which posts CloudEvents 1.0 in
 * binary mode — the payload as body, `ce-type` saying request or response, `ce-id` shared by both halves.
 * The halves are paired by id (bounded in count and time; an unpaired half is counted, never stored), read
 * with the v1 / v2 readers, and stored as predictions whose id is `ce-id` (with `-<i>` when a request
 * holds several instances), so labels can be sent for them. Every half is answered at once: 202 while its
 * other half is awaited, 200 once the pair is stored.
 */
export function kserveRoutes(
  ingest: Ingest,
  metrics: CollectorMetrics,
  options: KServeSinkOptions,
): {
  app: Hono;
  close(): void;
} {
  const unpaired = (half: Half) =>
    metrics.rejected.add(1, { signal: "kserve", reason: `unpaired_${half.kind}` });
  const pending = new PendingHalves(options.maxPending, options.pairTimeoutMs, unpaired);
  const app = new Hono();
  app.use("/v1/kserve", bearerAuth(options.ingestTokens, "ingest"));
  app.post("/v1/kserve", async (c) => {
    const type = c.req.header("ce-type") ?? "";
    const kind = TYPES[type];
    if (!kind)
      throw new HttpError(
        400,
        "unknown_event_type",
        `ce-type ${JSON.stringify(type)} is neither ${Object.keys(TYPES).join(" nor ")}`,
      );
    const id = required(c.req.header("ce-id"), "ce-id");
    const model = required(c.req.header("ce-inferenceservicename"), "ce-inferenceservicename");
    const time = Date.parse(c.req.header("ce-time") ?? "");
    const body = await readBody(c, options.body);
    try {
      JSON.parse(body.toString("utf8")); // refused now, not once its other half has come
    } catch {
      throw new HttpError(400, "malformed_json", "the payload is not JSON (only JSON payloads are read)");
    }
    const half: Half = {
      kind,
      body,
      model,
      endpoint: c.req.header("ce-endpoint") ?? "",
      timeMs: Number.isNaN(time) ? Date.now() : time,
      receivedAtMs: Date.now(),
    };
    const other = pending.match(id, half);
    if (!other) return c.json({ pending: true }, 202);
    const [request, response] = kind === "request" ? [half, other] : [other, half];
    const call: CapturedCall = {
      reader: "inference",
      model,
      version: "",
      idBase: id,
      timeMs: request.timeMs,
      segments: request.endpoint ? { endpoint: request.endpoint } : {},
      request: request.body,
      response: response.body,
    };
    const result = await ingest.ingest(
      "inference-calls",
      encodeCallBatch([call], options.mappings),
      "kserve",
    );
    if (!result.ok) throw new HttpError(400, result.code, result.message);
    const unreadable = result.calls?.unreadable[0];
    if (unreadable) {
      metrics.rejected.add(1, { signal: "kserve", reason: "unreadable_payload" });
      throw new HttpError(400, "unreadable_payload", `inference ${id} of ${model}: ${unreadable.message}`);
    }
    if (!result.write.ok) throw new HttpError(503, result.write.reason, result.write.message, 2);
    return c.json({
      accepted: result.accepted,
      rejected: result.rejections.length,
      errors: result.errorMessage,
    });
  });
  return { app, close: () => pending.close() };
}

function required(value: string | undefined, header: string): string {
  if (!value)
    throw new HttpError(
      400,
      "missing_header",
      `the ${header} header is missing (a CloudEvent in binary mode)`,
    );
  return value;
}
