import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Dense, denseSoftmaxModel, forward } from "../../bench/onnx-models.js";
import { HOUR_MS, random, sendLines } from "../helpers/fixtures.js";
import { jsonOf, startTestService, type TestService, tempDir } from "../helpers/service.js";

// A churn model in production and two real ONNX candidates for it, one run live on the traffic as it
// arrives, the other replayed afterwards; labels for most predictions. The analyzers' comparisons are
// checked against numbers computed here from the weights (plain arithmetic), the production classes and
// the labels sent: agreement, KL D(candidate ‖ production) with p' = (c/n + ε)/(1 + kε), ε = 1e-4, over
// the union of classes, and accuracy / macro recall of each side with the difference.

const CLASSES = ["stay", "leave"];
const FEATURES = ["tenure", "spend"];
/** Logistic regression: leave when spend outweighs tenure. */
const logistic: Dense[] = [
  {
    weights: [
      [0.8, -0.6],
      [-0.5, 0.9],
    ],
    bias: [0.2, -0.1],
  },
];
/** A 2-layer MLP (2 → 3 → 2 classes). */
const mlp: Dense[] = [
  {
    weights: [
      [1, -0.5, 0.3],
      [-0.7, 0.9, 0.4],
    ],
    bias: [0, 0.1, -0.2],
  },
  {
    weights: [
      [1.2, -0.8],
      [-0.9, 1.1],
      [0.2, 0.3],
    ],
    bias: [0.05, -0.05],
  },
];
const EPS = 1e-4;
const WINDOW = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 3 * HOUR_MS;

interface Sent {
  id: string;
  x: number[];
  production: string;
  label?: string;
}
const sent: Sent[] = [];
const models = tempDir("modelwatch-models-");
let service: TestService;

const spec = (name: string, file: string) => ({
  name,
  shadows: "churn",
  file,
  input: { features: FEATURES },
  output: { kind: "probabilities", classes: CLASSES },
});

beforeAll(async () => {
  writeFileSync(join(models.path, "logistic.onnx"), denseSoftmaxModel(logistic));
  writeFileSync(join(models.path, "mlp.onnx"), denseSoftmaxModel(mlp));
  service = await startTestService({ "models-dir": models.path, "analyze-interval-minutes": "0" });
  const post = (body: unknown) =>
    fetch(`${service.url}/shadow/candidates`, { method: "POST", body: JSON.stringify(body) });
  expect((await post(spec("churn-lr", "logistic.onnx"))).status).toBe(201);

  const rand = random(99);
  const classOf = (layers: Dense[], x: number[]) => {
    const p = forward(layers, x);
    return {
      cls: CLASSES[(p[1] as number) > (p[0] as number) ? 1 : 0] as string,
      margin: Math.abs((p[1] as number) - (p[0] as number)),
    };
  };
  while (sent.length < 1200) {
    const x = [Math.round(rand() * 4000) / 1000, Math.round(rand() * 4000) / 1000];
    // Rows where a candidate's two probabilities are within float32 rounding could go either way: left out.
    if (classOf(logistic, x).margin < 1e-4 || classOf(mlp, x).margin < 1e-4) continue;
    const i = sent.length;
    const production = rand() < 0.7 ? "stay" : "leave";
    const truth = (x[1] as number) > (x[0] as number) ? "leave" : "stay";
    const label = i % 5 === 4 ? undefined : rand() < 0.8 ? truth : truth === "stay" ? "leave" : "stay";
    sent.push({ id: `c${i}`, x, production, label });
  }
  const lines = sent.flatMap((s, i) => [
    JSON.stringify({
      event: "ml.prediction",
      time: WINDOW + i * 1000,
      "ml.model.name": "churn",
      "ml.model.version": "v7",
      "ml.prediction.id": s.id,
      "ml.prediction.class": s.production,
      "ml.feature.tenure": s.x[0],
      "ml.feature.spend": s.x[1],
    }),
    ...(s.label
      ? [
          JSON.stringify({
            event: "ml.label",
            "ml.model.name": "churn",
            "ml.prediction.id": s.id,
            "ml.label.class": s.label,
          }),
        ]
      : []),
  ]);
  await sendLines(service.url, lines, 500);
  await service.flushed();
  await service.shadowFlushed();
  // The second candidate arrives later and is replayed over what was stored.
  expect((await post(spec("churn-mlp", "mlp.onnx"))).status).toBe(201);
  const replay = await fetch(`${service.url}/shadow/replay`, {
    method: "POST",
    body: JSON.stringify({
      candidate: "churn-mlp",
      from: new Date(WINDOW).toISOString(),
      to: new Date(WINDOW + HOUR_MS).toISOString(),
    }),
  });
  expect((await jsonOf(replay)).report.inferred).toBe(sent.length);
  const analyzed = await fetch(`${service.url}/analyze`, { method: "POST", body: "{}" });
  expect(analyzed.status).toBe(200);
}, 120_000);
afterAll(async () => {
  await service?.stop();
  models.remove();
});

/** What the analyzers should find for a candidate, computed from the weights and the events sent. */
function expected(layers: Dense[]) {
  const candidate = sent.map((s) => {
    const p = forward(layers, s.x);
    return CLASSES[(p[1] as number) > (p[0] as number) ? 1 : 0] as string;
  });
  const agreement = sent.filter((s, i) => s.production === candidate[i]).length / sent.length;
  const dist = (classes: string[]) =>
    CLASSES.map(
      (c) => (classes.filter((x) => x === c).length / classes.length + EPS) / (1 + CLASSES.length * EPS),
    );
  const p = dist(candidate);
  const q = dist(sent.map((s) => s.production));
  const kl = p.reduce((d, pi, i) => d + pi * Math.log(pi / (q[i] as number)), 0);
  const labelled = sent.map((s, i) => ({ s, cand: candidate[i] as string })).filter((r) => r.s.label);
  const accuracy = (pick: (r: (typeof labelled)[number]) => string) =>
    labelled.filter((r) => pick(r) === r.s.label).length / labelled.length;
  const macroRecall = (pick: (r: (typeof labelled)[number]) => string) =>
    CLASSES.reduce((sum, c) => {
      const actual = labelled.filter((r) => r.s.label === c);
      return sum + actual.filter((r) => pick(r) === c).length / actual.length;
    }, 0) / CLASSES.length;
  const cand = (r: (typeof labelled)[number]) => r.cand;
  const prod = (r: (typeof labelled)[number]) => r.s.production;
  return {
    shadow_count: sent.length,
    shadow_agreement: agreement,
    shadow_kl_divergence: kl,
    shadow_accuracy: accuracy(cand),
    shadow_production_accuracy: accuracy(prod),
    shadow_accuracy_delta: accuracy(cand) - accuracy(prod),
    shadow_recall_macro: macroRecall(cand),
    shadow_production_recall_macro: macroRecall(prod),
    shadow_recall_macro_delta: macroRecall(cand) - macroRecall(prod),
  };
}

describe("a candidate compared with production by the analyzers", () => {
  for (const [name, layers] of [
    ["churn-lr", logistic],
    ["churn-mlp", mlp],
  ] as const) {
    it(`${name}: agreement, KL and accuracy deltas as computed from its weights`, async () => {
      const rows = await service.rows<{ metric: string; value: number }>(
        `SELECT metric, value FROM modelwatch.metrics FINAL
         WHERE model = 'churn' AND subject = {c:String} AND segment = ''
           AND window_start = fromUnixTimestamp64Milli({w:Int64}, 'UTC')`,
        { c: name, w: WINDOW },
      );
      const found = Object.fromEntries(rows.map((r) => [r.metric, r.value]));
      const want = expected(layers);
      for (const [metric, value] of Object.entries(want))
        expect(found[metric], metric).toBeCloseTo(value, 10);
      // Not a vacuous comparison: the candidate and production differ.
      expect(want.shadow_agreement).toBeLessThan(0.9);
      expect(want.shadow_kl_divergence).toBeGreaterThan(1e-4);
    });
  }

  it("exports the newest window's comparison on /metrics", async () => {
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    const line = /^modelwatch_shadow_agreement\{([^}]*)\} (\S+)$/m.exec(
      metrics
        .split("\n")
        .filter((l) => l.includes('candidate="churn-lr"'))
        .join("\n"),
    );
    expect(line?.[1]).toMatch(/model="churn"/);
    expect(Number(line?.[2])).toBeCloseTo(expected(logistic).shadow_agreement, 10);
  });
});
