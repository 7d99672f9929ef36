import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PredictionRow } from "../helpers/rows.js";
import { startTestService, type TestService } from "../helpers/service.js";

// A fake model server answering as each protocol's documentation shows (TensorFlow Serving's REST API,
// the Open Inference Protocol, TorchServe's inference API), with the tap (inside serve) in front of it.

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}
const seen: Seen[] = [];
let upstream: Server;
let service: TestService;
let tapUrl: string;
let storeDown = false;

function answer(
  url: string,
  body: string,
): { status: number; headers: Record<string, string>; body: string } {
  const json = (status: number, value: unknown) => ({
    status,
    headers: { "content-type": "application/json", "x-upstream": "fake" },
    body: JSON.stringify(value),
  });
  // TF Serving: POST /v1/models/half_plus_two:predict {"instances": [1.0, 2.0, 5.0]} → {"predictions": [2.5, 3.0, 4.5]}
  if (url === "/v1/models/half_plus_two:predict")
    return json(200, { predictions: (JSON.parse(body).instances as number[]).map((x) => x / 2 + 2) });
  if (url === "/v1/models/iris/versions/3:predict")
    return json(200, {
      predictions: [
        [0.1, 0.7, 0.2],
        [0.8, 0.1, 0.1],
      ],
    });
  if (url === "/v1/models/broken:predict") return json(500, { error: "model crashed" });
  // OIP: POST /v2/models/simple/infer
  if (url === "/v2/models/simple/versions/1/infer")
    return json(200, {
      model_name: "simple",
      model_version: "1",
      outputs: [{ name: "OUTPUT0", shape: [2, 1], datatype: "FP32", data: [0.25, 0.75] }],
    });
  // TorchServe: POST /predictions/densenet161 with an image → {"tabby": 0.47, "lynx": 0.33, ...}
  if (url === "/predictions/sentiment") return json(200, { positive: 0.9, negative: 0.1 });
  if (url === "/predictions/densenet161") return json(200, { tabby: 0.47, lynx: 0.33, tiger_cat: 0.2 });
  if (url === "/ping") return { status: 200, headers: { "content-type": "text/plain" }, body: "Healthy" };
  return json(404, { error: `no route ${url}` });
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      const a = answer(req.url ?? "", body);
      res.writeHead(a.status, a.headers);
      res.end(a.body);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const port = (upstream.address() as AddressInfo).port;
  service = await startTestService(
    { "tap-upstream": `http://127.0.0.1:${port}`, "tap-port": "0", "spool-max-mb": "1" },
    {},
    { insertFault: () => (storeDown ? new Error("the store is down (test)") : undefined) },
  );
  tapUrl = `http://127.0.0.1:${service.tapPort}`;
});
afterAll(async () => {
  await service?.stop();
  await new Promise((r) => upstream?.close(r));
});

const call = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${tapUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

type Row = Pick<
  PredictionRow,
  | "model"
  | "model_version"
  | "prediction_id"
  | "predicted_class"
  | "predicted_value"
  | "class_scores"
  | "features_numeric"
  | "features_categorical"
  | "source"
  | "latency_ms"
>;
const stored = async (model: string) => {
  await new Promise((r) => setTimeout(r, 100)); // recording follows the answer
  return service.rows<Row>(
    `SELECT model, model_version, prediction_id, predicted_class, predicted_value, class_scores, features_numeric,
       features_categorical, source, latency_ms
     FROM modelwatch.predictions WHERE model = {model:String} ORDER BY prediction_id`,
    { model },
  );
};

describe("the tap proxy", () => {
  it("forwards TF Serving calls unchanged and records one prediction per instance", async () => {
    const res = await call(
      "/v1/models/half_plus_two:predict",
      { instances: [1.0, 2.0, 5.0] },
      { "x-request-id": "r-1" },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("fake");
    expect(await res.json()).toEqual({ predictions: [2.5, 3.0, 4.5] });
    expect(res.headers.get("x-modelwatch-prediction-ids")).toBe("r-1-0,r-1-1,r-1-2");
    const last = seen.at(-1) as Seen;
    expect([last.url, last.body]).toEqual(["/v1/models/half_plus_two:predict", '{"instances":[1,2,5]}']);
    const rows = await stored("half_plus_two");
    expect(rows.map((r) => [r.prediction_id, r.features_numeric, r.predicted_value, r.source])).toEqual([
      ["r-1-0", { feature_0: 1 }, 2.5, "tap"],
      ["r-1-1", { feature_0: 2 }, 3, "tap"],
      ["r-1-2", { feature_0: 5 }, 4.5, "tap"],
    ]);
    expect(rows.every((r) => (r.latency_ms ?? -1) >= 0)).toBe(true);
  });

  it("reads probabilities (argmax), versions, OIP tensors and TorchServe answers", async () => {
    const iris = await call("/v1/models/iris/versions/3:predict", {
      instances: [
        { sepal_length: 5.1, species_hint: "a" },
        { sepal_length: 6.2, species_hint: "b" },
      ],
    });
    const ids = (iris.headers.get("x-modelwatch-prediction-ids") ?? "").split(",");
    expect(ids).toHaveLength(2);
    await iris.arrayBuffer();
    const irisRows = await stored("iris");
    expect(
      irisRows.map((r) => [r.model_version, r.predicted_class, r.features_categorical.species_hint]),
    ).toEqual(
      [...ids]
        .map((id, i) => ({ id, row: ["3", i === 0 ? "1" : "0", i === 0 ? "a" : "b"] }))
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .map((x) => x.row),
    );

    const oip = await call("/v2/models/simple/versions/1/infer", {
      inputs: [{ name: "INPUT0", shape: [2, 2], datatype: "INT32", data: [1, 2, 3, 4] }],
    });
    expect(((await oip.json()) as { outputs: Array<{ data: number[] }> }).outputs[0]?.data).toEqual([
      0.25, 0.75,
    ]);
    const simple = await stored("simple");
    expect(simple.map((r) => [r.model_version, r.predicted_value, r.features_numeric]).sort()).toEqual(
      [
        ["1", 0.25, { INPUT0_0: 1, INPUT0_1: 2 }],
        ["1", 0.75, { INPUT0_0: 3, INPUT0_1: 4 }],
      ].sort(),
    );

    await (await call("/predictions/sentiment", { text_length: 42, lang: "en" })).arrayBuffer();
    const [sentiment] = await stored("sentiment");
    expect(sentiment).toMatchObject({
      predicted_class: "positive",
      class_scores: { positive: 0.9, negative: 0.1 },
      features_numeric: { text_length: 42 },
      features_categorical: { lang: "en" },
    });
  });

  /** The service's /metrics once it matches `pattern` (within 5 s; then as it is). */
  async function metricsOnce(pattern: RegExp): Promise<string> {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      if (pattern.test(metrics) || Date.now() > deadline) return metrics;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("passes upstream errors, non-inference routes and non-JSON bodies through, recording none", async () => {
    const broken = await call("/v1/models/broken:predict", { instances: [1] });
    expect([broken.status, await broken.json()]).toEqual([500, { error: "model crashed" }]);
    expect(broken.headers.get("x-modelwatch-prediction-ids")).toBeNull();
    const ping = await fetch(`${tapUrl}/ping`);
    expect([ping.status, await ping.text()]).toEqual([200, "Healthy"]);
    const image = await fetch(`${tapUrl}/predictions/densenet161`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
    });
    expect(await image.json()).toEqual({ tabby: 0.47, lynx: 0.33, tiger_cat: 0.2 });
    expect(seen.at(-1)?.body).toBe(Buffer.from([0xff, 0xd8, 0xff, 0xe0]).toString("utf8"));
    expect(await stored("broken")).toEqual([]);
    expect(await stored("densenet161")).toEqual([]);
    // The proxy's thread reports its counts a moment later.
    const metrics = await metricsOnce(/modelwatch_tap_calls_total\{outcome="passed_through"/);
    expect(metrics).toMatch(/modelwatch_tap_calls_total\{outcome="upstream_error"[^}]*\} 1\n/);
    expect(metrics).toMatch(/modelwatch_tap_calls_total\{outcome="passed_through"[^}]*\} 1\n/);
  });

  it("keeps serving while the store is down, counting what it could not record", {
    timeout: 60_000,
  }, async () => {
    storeDown = true;
    const instances = Array.from({ length: 100 }, (_, i) => i + 0.5);
    let served = 0;
    for (let i = 0; i < 150; i++) {
      const res = await call("/v1/models/half_plus_two:predict", { instances });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { predictions: number[] }).predictions).toHaveLength(100);
      served++;
    }
    // The last recordings reach the full spool, and the proxy's thread reports the drops.
    const metrics = await metricsOnce(
      /modelwatch_records_rejected_total\{signal="tap",reason="write_failed"/,
    );
    const dropped = /modelwatch_records_rejected_total\{signal="tap",reason="write_failed"[^}]*\} (\d+)/.exec(
      metrics,
    );
    expect(served).toBe(150);
    expect(Number(dropped?.[1])).toBeGreaterThan(0);
    storeDown = false;
  });
});
