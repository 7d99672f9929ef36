import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { denseSoftmaxModel, forward } from "../../bench/onnx-models.js";
import { type OpenCandidate, openCandidate, replayCandidate } from "../../shadow/index.js";
import { random, sendLines } from "../helpers/fixtures.js";
import { MLP as mlp } from "../helpers/models.js";
import { startTestService, type TestService } from "../helpers/service.js";

const CLASSES = ["low", "mid", "high"];
const FEATURES = ["amount", "age", "score"];
const START = Date.UTC(2026, 10, 27, 10, 0, 0);

let service: TestService;
let candidate: OpenCandidate;
/** Predictions sent with "score" as text. */
let texts = 0;
/** What was sent, by prediction id: its features, or undefined when one was left out or given as text. */
const sent = new Map<string, number[] | undefined>();

beforeAll(async () => {
  service = await startTestService();
  const models = join(service.dataDir, "models");
  mkdirSync(models);
  writeFileSync(join(models, "mlp.onnx"), denseSoftmaxModel(mlp));
  candidate = await openCandidate(
    {
      name: "risk-mlp",
      shadows: "risk",
      file: "mlp.onnx",
      input: { features: FEATURES },
      output: { kind: "probabilities", classes: CLASSES },
    },
    models,
  );
  const rand = random(7);
  const lines: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const x = FEATURES.map(() => Math.round((rand() * 4 - 2) * 1000) / 1000);
    const missing = i % 97 === 0; // now and then a prediction without "score"
    const text = i % 89 === 1; // or with "score" as text
    const id = `p${i}`;
    sent.set(id, missing || text ? undefined : x);
    const features: Record<string, unknown> = Object.fromEntries(
      FEATURES.map((f, j) => [`ml.feature.${f}`, x[j]]),
    );
    if (missing) delete features["ml.feature.score"];
    if (text) features["ml.feature.score"] = "n/a";
    if (text) texts++;
    lines.push(
      JSON.stringify({
        event: "ml.prediction",
        time: START + i * 1000,
        "ml.model.name": "risk",
        "ml.model.version": i < 2500 ? "v1" : "v2",
        "ml.prediction.id": id,
        "ml.prediction.class": "mid",
        ...features,
      }),
    );
  }
  // Another model's traffic, which the candidate does not shadow.
  lines.push(
    JSON.stringify({ event: "ml.prediction", time: START, "ml.model.name": "other", "ml.feature.amount": 1 }),
  );
  await sendLines(service.url, lines);
});
afterAll(async () => {
  await candidate?.session.release();
  await service?.stop();
});

interface ShadowRow {
  prediction_id: string;
  model_version: string;
  candidate_class: string;
  candidate_scores: Record<string, number>;
}

describe("replaying a candidate over stored predictions", () => {
  it("answers every prediction that has its features, as its weights say, and counts the rest", async () => {
    await service.flushed();
    // Pages of about 700 predictions (11 minutes of this traffic): several, read ahead one by one.
    const report = await replayCandidate(service.store, candidate, {
      fromMs: START,
      toMs: START + 5000 * 1000,
      pageRows: 700,
    });
    const complete = [...sent].filter(([, x]) => x !== undefined);
    expect(report).toMatchObject({
      inferred: complete.length,
      skipped: { missing_feature: sent.size - complete.length - texts, wrong_type: texts },
    });
    const rows = await service.rows<ShadowRow>(
      `SELECT prediction_id, model_version, candidate_class, candidate_scores
       FROM modelwatch.shadow_predictions FINAL WHERE candidate = 'risk-mlp' AND model = 'risk'`,
    );
    expect(rows).toHaveLength(complete.length);
    for (const row of rows) {
      const x = sent.get(row.prediction_id) as number[];
      const p = forward(mlp, x);
      for (const [j, c] of CLASSES.entries()) expect(row.candidate_scores[c]).toBeCloseTo(p[j] as number, 5);
      const best = p.indexOf(Math.max(...p));
      // Float32 inference may order two near-equal probabilities differently; only a clear winner is checked.
      const sorted = [...p].sort((a, b) => b - a);
      if ((sorted[0] as number) - (sorted[1] as number) > 1e-5)
        expect(row.candidate_class).toBe(CLASSES[best]);
      expect(row.model_version).toBe(Number(row.prediction_id.slice(1)) < 2500 ? "v1" : "v2");
    }
  });

  it("replaces its earlier answers when run again over the same range", async () => {
    await replayCandidate(service.store, candidate, { fromMs: START, toMs: START + 100 * 1000 });
    const [counted] = await service.rows<{ n: number }>(
      "SELECT count() AS n FROM modelwatch.shadow_predictions FINAL WHERE candidate = 'risk-mlp'",
    );
    expect(counted?.n).toBe([...sent.values()].filter((x) => x !== undefined).length);
  });
});
