import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PendingHalves } from "../../collector/kserve/pairs.js";
import type { PredictionRow } from "../helpers/rows.js";
import { jsonOf, startTestService, type TestService, tempDir } from "../helpers/service.js";

const dir = tempDir("modelwatch-kserve-");
let service: TestService;

beforeAll(async () => {
  const mappings = join(dir.path, "mappings.json");
  writeFileSync(mappings, JSON.stringify({ models: { churn: { classes: ["stay", "leave"] } } }));
  service = await startTestService({ "inference-mappings": mappings });
});
afterAll(async () => {
  await service?.stop();
  dir.remove();
});

/** Posts one half as KServe's logger does: a CloudEvent in binary mode. */
function half(
  kind: "request" | "response",
  id: string,
  model: string,
  body: unknown,
  extra: Record<string, string> = {},
) {
  return fetch(`${service.url}/v1/kserve`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "ce-specversion": "1.0",
      "ce-type": `org.kubeflow.serving.inference.${kind}`,
      "ce-id": id,
      "ce-source": `http://localhost:9081/`,
      "ce-inferenceservicename": model,
      "ce-endpoint": "default",
      ...extra,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

type Row = Pick<
  PredictionRow,
  | "prediction_id"
  | "model_version"
  | "predicted_class"
  | "predicted_value"
  | "class_scores"
  | "features_numeric"
  | "features_categorical"
  | "segments"
  | "source"
>;
const rows = (model: string) =>
  service.rows<Row>(
    `SELECT prediction_id, model_version, predicted_class, predicted_value, class_scores, features_numeric,
       features_categorical, segments, source
     FROM modelwatch.predictions WHERE model = {model:String} ORDER BY prediction_id`,
    { model },
  );

describe("the KServe payload-logger sink", () => {
  it("pairs a v1 request and response by ce-id and stores one prediction per instance", async () => {
    const request = await half("request", "req-1", "churn", {
      instances: [
        { tenure: 41, plan: "pro" },
        { tenure: 3, plan: "basic" },
      ],
    });
    expect([request.status, await jsonOf(request)]).toEqual([202, { pending: true }]);
    const response = await half("response", "req-1", "churn", {
      predictions: [
        [0.2, 0.8],
        [0.9, 0.1],
      ],
    });
    expect(response.status).toBe(200);
    expect(await jsonOf(response)).toMatchObject({ accepted: 2, rejected: 0 });
    expect(await rows("churn")).toEqual([
      {
        prediction_id: "req-1-0",
        model_version: "",
        predicted_class: "leave",
        predicted_value: null,
        class_scores: { stay: 0.2, leave: 0.8 },
        features_numeric: { tenure: 41 },
        features_categorical: { plan: "pro" },
        segments: { endpoint: "default" },
        source: "tap",
      },
      {
        prediction_id: "req-1-1",
        model_version: "",
        predicted_class: "stay",
        predicted_value: null,
        class_scores: { stay: 0.9, leave: 0.1 },
        features_numeric: { tenure: 3 },
        features_categorical: { plan: "basic" },
        segments: { endpoint: "default" },
        source: "tap",
      },
    ]);
  });

  it("reads Open Inference Protocol tensors, the response arriving first", async () => {
    const response = await half("response", "v2-1", "price", {
      model_name: "price",
      model_version: "7",
      outputs: [{ name: "value", shape: [1], datatype: "FP32", data: [1.5] }],
    });
    expect(response.status).toBe(202);
    const request = await half(
      "request",
      "v2-1",
      "price",
      { inputs: [{ name: "x", shape: [1, 3], datatype: "FP32", data: [[1, 2, 3]] }] },
      { "ce-endpoint": "canary" },
    );
    expect(request.status).toBe(200);
    const [row] = await rows("price");
    expect(row).toMatchObject({
      prediction_id: "v2-1", // one instance: the CloudEvent's id itself, for labels
      model_version: "7",
      predicted_value: 1.5,
      features_numeric: { x_0: 1, x_1: 2, x_2: 3 },
      segments: { endpoint: "canary" },
    });
  });

  it("refuses what it cannot read, saying why", async () => {
    const noId = await fetch(`${service.url}/v1/kserve`, {
      method: "POST",
      headers: { "ce-type": "org.kubeflow.serving.inference.request", "ce-inferenceservicename": "m" },
      body: "{}",
    });
    expect([noId.status, (await jsonOf(noId)).error.code]).toEqual([400, "missing_header"]);
    const wrongType = await half("request", "x", "m", {}, { "ce-type": "org.example.other" });
    expect((await jsonOf(wrongType)).error.message).toMatch(/ce-type "org.example.other" is neither/);
    expect((await half("request", "x2", "m", "not json")).status).toBe(400);

    await half("request", "mismatch", "m", { instances: [[1], [2]] });
    const answer = await half("response", "mismatch", "m", { predictions: [1] });
    expect(answer.status).toBe(400);
    expect((await jsonOf(answer)).error.message).toMatch(/2 instance\(s\) and the response 1 answer/);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(
      /modelwatch_records_rejected_total\{signal="kserve",reason="unreadable_payload"[^}]*\} 1\n/,
    );
  });
});

describe("halves waiting for their pair", () => {
  it("are bounded in number and time, and what leaves unpaired is counted", () => {
    let now = 0;
    const gone: string[] = [];
    const pending = new PendingHalves(
      2,
      1_000,
      (h) => gone.push(`${h.kind}:${h.model}`),
      () => now,
    );
    const h = (kind: "request" | "response", model: string) => ({
      kind,
      model,
      body: new Uint8Array(0),
      endpoint: "",
      timeMs: now,
      receivedAtMs: now,
    });
    expect(pending.match("a", h("request", "a"))).toBeUndefined();
    expect(pending.match("b", h("request", "b"))).toBeUndefined();
    expect(pending.match("c", h("request", "c"))).toBeUndefined(); // full: "a" leaves
    expect(gone).toEqual(["request:a"]);
    expect(pending.match("b", h("response", "b"))?.model).toBe("b");
    now = 5_000;
    (pending as unknown as { expire(): void }).expire();
    expect(gone).toEqual(["request:a", "request:c"]);
    expect(pending.size).toBe(0);
    pending.close();
  });
});
