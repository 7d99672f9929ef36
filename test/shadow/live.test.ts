import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Dense,
  denseSoftmaxModel,
  denseValueModel,
  forward,
  forwardValue,
} from "../../bench/onnx-models.js";
import { random, sendLines } from "../helpers/fixtures.js";
import { LOGISTIC as logistic, MLP as mlp } from "../helpers/models.js";
import { logsBody } from "../helpers/otlp.js";
import { jsonOf, startTestService, type TestService, tempDir } from "../helpers/service.js";

/** A linear regression over 2 features. */
const linear: Dense[] = [{ weights: [[1.5], [-0.25]], bias: [3] }];

const FEATURES = ["amount", "age", "score"];
const START = Date.now() - 3_600_000;

const models = tempDir("modelwatch-models-");
let service: TestService;

const fraudSpec = {
  name: "fraud-lr",
  shadows: "fraud",
  file: "logistic.onnx",
  input: { features: FEATURES },
  output: { kind: "probabilities", classes: ["no", "yes"] },
};
const riskSpec = {
  name: "risk-mlp",
  shadows: "risk",
  file: "mlp.onnx",
  // The model's columns in another order than the events list them.
  input: { features: ["score", "amount", "age"] },
  output: { kind: "probabilities", classes: ["low", "mid", "high"] },
};
const priceSpec = {
  name: "price-lin",
  shadows: "price",
  file: "linear.onnx",
  input: { features: ["rooms", "age"] },
  output: { kind: "value" },
};

function post(path: string, body: unknown, method = "POST"): Promise<Response> {
  return fetch(`${service.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  writeFileSync(join(models.path, "logistic.onnx"), denseSoftmaxModel(logistic));
  writeFileSync(join(models.path, "mlp.onnx"), denseSoftmaxModel(mlp));
  writeFileSync(join(models.path, "linear.onnx"), denseValueModel(linear));
  writeFileSync(join(models.path, "broken.onnx"), Buffer.from("not a model"));
  mkdirSync(join(models.path, "..", "outside"), { recursive: true });
  service = await startTestService({
    "models-dir": models.path,
    "shadow-batch-rows": "64",
    "shadow-batch-delay-ms": "20",
  });
});
afterAll(async () => {
  await service?.stop();
  models.remove();
});

describe("registering a candidate on the service", () => {
  it("refuses a spec, a path or a model that does not fit, saying why", async () => {
    const cases: Array<[unknown, number, string, RegExp]> = [
      [{ ...fraudSpec, input: { features: [] } }, 400, "candidate_spec", /input.features lists no features/],
      [{ ...fraudSpec, file: "../outside/x.onnx" }, 400, "candidate_path", /outside the models directory/],
      [{ ...fraudSpec, file: "broken.onnx" }, 400, "candidate_model", /not a model onnxruntime can run/],
      [
        { ...fraudSpec, input: { features: ["a", "b", "c", "d"] } },
        400,
        "candidate_mismatch",
        /should be float32 \[batch, 4\].*found float32 \[batch, 3\]/,
      ],
      [
        { ...fraudSpec, output: { kind: "probabilities", classes: ["a", "b", "c"] } },
        400,
        "candidate_mismatch",
        /probabilities of 3 classes; found float32 \[batch, 2\]/,
      ],
    ];
    for (const [spec, status, code, message] of cases) {
      const res = await post("/shadow/candidates", spec);
      const body = await jsonOf(res);
      expect([res.status, body.error.code], JSON.stringify(body)).toEqual([status, code]);
      expect(body.error.message).toMatch(message);
    }
    const notJson = await fetch(`${service.url}/shadow/candidates`, { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
    expect((await jsonOf(await fetch(`${service.url}/shadow/candidates`))).candidates).toEqual([]);
  });

  it("registers one that fits, refuses the same name twice, and lists it running", async () => {
    const res = await post("/shadow/candidates", fraudSpec);
    expect(res.status).toBe(201);
    expect(await jsonOf(res)).toMatchObject({ running: true });
    const again = await post("/shadow/candidates", fraudSpec);
    expect(again.status).toBe(409);
    expect((await jsonOf(again)).error.message).toMatch(/registered already/);
    for (const spec of [riskSpec, priceSpec])
      expect((await post("/shadow/candidates", spec)).status).toBe(201);
    const list = await jsonOf(await fetch(`${service.url}/shadow/candidates`));
    expect(list.candidates.map((c: { name: string; running: boolean }) => [c.name, c.running])).toEqual([
      ["fraud-lr", true],
      ["price-lin", true],
      ["risk-mlp", true],
    ]);
    expect(list.candidates[0].spec).toEqual(fraudSpec);
    expect((await fetch(`${service.url}/shadow/candidates/nobody`, { method: "DELETE" })).status).toBe(404);
  });
});

interface Sent {
  model: string;
  features: Record<string, number | string>;
}

describe("live mirroring", () => {
  /** Every prediction sent, by id. */
  const sent = new Map<string, Sent>();

  it("runs each candidate on the acknowledged predictions of the model it shadows", {
    timeout: 60_000,
  }, async () => {
    const rand = random(11);
    const value = () => Math.round((rand() * 4 - 2) * 1000) / 1000;
    const lines: string[] = [];
    const event = (id: string, model: string, features: Record<string, number | string>, i: number) => {
      sent.set(id, { model, features });
      return {
        event: "ml.prediction",
        time: START + i * 100,
        "ml.model.name": model,
        "ml.model.version": "v1",
        "ml.prediction.id": id,
        ...(model === "price" ? { "ml.prediction.value": 1 } : { "ml.prediction.class": "x" }),
        ...Object.fromEntries(Object.entries(features).map(([k, v]) => [`ml.feature.${k}`, v])),
      };
    };
    for (let i = 0; i < 3000; i++) {
      const features: Record<string, number | string> = { amount: value(), age: value(), score: value() };
      if (i % 101 === 0)
        delete features.score; // missing
      else if (i % 103 === 0) features.score = "high"; // a string where a number is needed
      lines.push(JSON.stringify(event(`f${i}`, "fraud", features, i)));
      lines.push(
        JSON.stringify(event(`r${i}`, "risk", { age: value(), amount: value(), score: value() }, i)),
      );
      if (i < 500) lines.push(JSON.stringify(event(`p${i}`, "price", { rooms: value(), age: value() }, i)));
      if (i < 200) lines.push(JSON.stringify(event(`o${i}`, "other", { amount: value() }, i)));
    }
    await sendLines(service.url, lines, 700);
    // And through a real OpenTelemetry SDK's OTLP logs encoding.
    const otlp = Array.from({ length: 300 }, (_, i) => {
      const features = { amount: value(), age: value(), score: value() };
      sent.set(`g${i}`, { model: "fraud", features });
      return {
        eventName: "ml.prediction",
        timestamp: START + i,
        attributes: {
          "ml.model.name": "fraud",
          "ml.model.version": "v1",
          "ml.prediction.id": `g${i}`,
          "ml.prediction.class": "no",
          ...Object.fromEntries(Object.entries(features).map(([k, v]) => [`ml.feature.${k}`, v])),
        },
      };
    });
    const res = await fetch(`${service.url}/v1/logs`, {
      method: "POST",
      headers: { "content-type": "application/x-protobuf" },
      body: logsBody(otlp),
    });
    expect(res.status).toBe(200);
    await service.flushed();
    await service.shadowFlushed();

    // Production ingest is whole: every prediction sent is stored once.
    const [stored] = await service.rows<{ n: number }>("SELECT count() AS n FROM modelwatch.predictions");
    expect(stored?.n).toBe(sent.size);

    const answers = await service.rows<{
      candidate: string;
      prediction_id: string;
      candidate_class: string;
      candidate_value: number | null;
      scores: Record<string, number>;
      model: string;
    }>(
      `SELECT candidate, prediction_id, candidate_class, candidate_value, candidate_scores AS scores, model
       FROM modelwatch.shadow_predictions FINAL`,
    );
    const expected = { "fraud-lr": 0, "risk-mlp": 0, "price-lin": 0 };
    const specs = { "fraud-lr": fraudSpec, "risk-mlp": riskSpec, "price-lin": priceSpec };
    const layers = { "fraud-lr": logistic, "risk-mlp": mlp, "price-lin": linear };
    let skippedMissing = 0;
    let skippedType = 0;
    for (const s of sent.values()) {
      const name = Object.values(specs).find((spec) => spec.shadows === s.model)?.name as
        | keyof typeof expected
        | undefined;
      if (!name) continue;
      const f = specs[name].input.features;
      if (f.some((k) => s.features[k] === undefined)) skippedMissing++;
      else if (f.some((k) => typeof s.features[k] === "string")) skippedType++;
      else expected[name]++;
    }
    expect(skippedMissing).toBeGreaterThan(0);
    expect(skippedType).toBeGreaterThan(0);
    const byCandidate = (n: string) => answers.filter((a) => a.candidate === n).length;
    expect({
      "fraud-lr": byCandidate("fraud-lr"),
      "risk-mlp": byCandidate("risk-mlp"),
      "price-lin": byCandidate("price-lin"),
    }).toEqual(expected);

    for (const a of answers) {
      const s = sent.get(a.prediction_id) as Sent;
      const name = a.candidate as keyof typeof specs;
      expect(s.model).toBe(a.model);
      const x = specs[name].input.features.map((k) => s.features[k] as number);
      if (name === "price-lin") {
        expect(a.candidate_value).toBeCloseTo(forwardValue(linear, x), 5);
        expect(a.candidate_class).toBe("");
        continue;
      }
      const p = forward(layers[name], x);
      const classes = specs[name].output.classes as string[];
      classes.forEach((c, i) => {
        expect(a.scores[c]).toBeCloseTo(p[i] as number, 5);
      });
      const best = p.indexOf(Math.max(...p));
      // Where the two most probable classes are within float32 rounding of each other, either is right.
      const sorted = [...p].sort((u, v) => v - u);
      if ((sorted[0] as number) - (sorted[1] as number) > 1e-5) expect(a.candidate_class).toBe(classes[best]);
    }

    const stats = service.shadowStats();
    expect(stats.inferred).toEqual(expected);
    expect(stats.skipped["fraud-lr"]).toEqual({ missing_feature: skippedMissing, wrong_type: skippedType });
    expect(stats.dropped).toEqual({ queue_full: 0, inference_failed: 0, insert_failed: 0 });
    expect(stats.mirrored).toBe(sent.size);

    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(
        `modelwatch_shadow_inferences_total\\{candidate="fraud-lr",[^}]*\\} ${expected["fraud-lr"]}\n`,
      ),
    );
    expect(metrics).toMatch(
      new RegExp(
        `modelwatch_shadow_skipped_records_total\\{candidate="fraud-lr",reason="wrong_type",[^}]*\\} ${skippedType}\n`,
      ),
    );
  });

  it("stops running a candidate removed, and replays one over stored predictions", {
    timeout: 60_000,
  }, async () => {
    expect((await fetch(`${service.url}/shadow/candidates/risk-mlp`, { method: "DELETE" })).status).toBe(200);
    const rand = random(5);
    const lines = Array.from({ length: 400 }, (_, i) =>
      JSON.stringify({
        event: "ml.prediction",
        time: START + 3_000_000 + i,
        "ml.model.name": "risk",
        "ml.model.version": "v1",
        "ml.prediction.id": `late${i}`,
        "ml.feature.amount": rand(),
        "ml.feature.age": rand(),
        "ml.feature.score": rand(),
      }),
    );
    await sendLines(service.url, lines);
    await service.flushed();
    await service.shadowFlushed();
    const count = async () =>
      (
        await service.rows<{ n: number }>(
          "SELECT count() AS n FROM modelwatch.shadow_predictions FINAL WHERE candidate = 'risk-mlp'",
        )
      )[0]?.n;
    expect(await count()).toBe(3000);

    // Registered again, it is replayed over everything stored, the new predictions included.
    expect((await post("/shadow/candidates", riskSpec)).status).toBe(201);
    const replay = await post("/shadow/replay", {
      candidate: "risk-mlp",
      from: new Date(START - 1000).toISOString(),
      to: new Date(START + 4_000_000).toISOString(),
    });
    expect(replay.status).toBe(200);
    expect((await jsonOf(replay)).report).toMatchObject({ inferred: 3400, skipped: { missing_feature: 0 } });
    expect(await count()).toBe(3400);
    const bad = await post("/shadow/replay", { candidate: "risk-mlp", from: "yesterday" });
    expect([bad.status, (await jsonOf(bad)).error.message]).toEqual([400, "from must be an ISO 8601 time"]);
  });
});
