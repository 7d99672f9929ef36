import { random } from "../../demo/workload.js";
import type { Store } from "../../store/index.js";
import { type Label, labelsRowBinary, PredictionRows } from "../../store/rows.js";
/**
 * Synthetic model traffic with known properties, for the analyzer tests: a churn classifier whose class
 * prior shifts at a known hour and whose `age` feature's mean shifts at another, and a regression model.
 * Deterministic (seeded), so the tests compute their expectations from the very events sent.
 */

export const HOUR_MS = 3_600_000;

export interface FixturePrediction {
  timeMs: number;
  model: string;
  version: string;
  id: string;
  predictedClass?: string;
  predictedValue?: number;
  scoreYes?: number;
  numeric: Record<string, number>;
  categorical: Record<string, string>;
  segments: Record<string, string>;
}

export interface FixtureLabel {
  timeMs: number;
  model: string;
  id: string;
  labelClass?: string;
  labelValue?: number;
}

export interface FixtureOptions {
  /** Start of the first hour: UTC midnight, so the first day is the version's first full day. */
  startMs: number;
  hours: number;
  perHour: number;
  /** Hour from which the true class prior moves from 30 % to 60 % "yes". */
  priorShiftHour: number;
  /** Hour from which `age` is drawn around 60 instead of 40 (two standard deviations). */
  ageShiftHour: number;
  /** Hour from which the model is right 45 % of the time instead of 80 % (its accuracy degrades). */
  degradeHour?: number;
  /** Share of predictions labelled. */
  labelRate: number;
  seed: number;
}

/** Two steady hours from `startMs` (30 predictions an hour, no shift, 80% labelled): for the CLI and schedule tests. */
export function steadyFixture(startMs: number, seed: number): ReturnType<typeof generateFixture> {
  return generateFixture({
    startMs,
    hours: 2,
    perHour: 30,
    priorShiftHour: 99,
    ageShiftHour: 99,
    labelRate: 0.8,
    seed,
  });
}

/** mulberry32, the demo's generator: a small, well-mixed 32-bit PRNG. */
export { random };

function normal(rand: () => number, mean: number, sd: number): number {
  const u = 1 - rand();
  const v = rand();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function generateFixture(o: FixtureOptions): {
  predictions: FixturePrediction[];
  labels: FixtureLabel[];
} {
  const rand = random(o.seed);
  const predictions: FixturePrediction[] = [];
  const labels: FixtureLabel[] = [];
  const plans = ["basic", "basic", "basic", "pro", "pro", "team"];
  for (let h = 0; h < o.hours; h++) {
    for (let i = 0; i < o.perHour; i++) {
      const timeMs = o.startMs + h * HOUR_MS + Math.floor((i * HOUR_MS) / o.perHour);
      const actual = rand() < (h >= o.priorShiftHour ? 0.6 : 0.3) ? "yes" : "no";
      const right = rand() < (h >= (o.degradeHour ?? Number.POSITIVE_INFINITY) ? 0.45 : 0.8);
      const predicted = right ? actual : actual === "yes" ? "no" : "yes";
      const id = `c-${h}-${i}`;
      predictions.push({
        timeMs,
        model: "churn",
        version: "v1",
        id,
        predictedClass: predicted,
        scoreYes: Math.round(rand() * 1000) / 1000,
        numeric: {
          age: Math.round(normal(rand, h >= o.ageShiftHour ? 60 : 40, 10) * 100) / 100,
          tenure: Math.floor(rand() * 60),
        },
        categorical: { plan: plans[Math.floor(rand() * plans.length)] as string },
        segments: { region: rand() < 0.5 ? "eu" : "us" },
      });
      if (rand() < o.labelRate)
        labels.push({ timeMs: timeMs + 60_000, model: "churn", id, labelClass: actual });

      const target = Math.round(normal(rand, 100, 30));
      const rid = `r-${h}-${i}`;
      predictions.push({
        timeMs,
        model: "eta",
        version: "v1",
        id: rid,
        predictedValue: target + Math.round(normal(rand, 2, 5) * 10) / 10,
        numeric: { distance: Math.round(rand() * 500) / 10 },
        categorical: {},
        segments: {},
      });
      // One target in ten is 0, which MAPE skips.
      if (rand() < o.labelRate)
        labels.push({
          timeMs: timeMs + 60_000,
          model: "eta",
          id: rid,
          labelValue: i % 10 === 0 ? 0 : target,
        });
    }
  }
  return { predictions, labels };
}

/** The events as NDJSON lines for `POST /v1/events`. */
export function ndjsonLines(f: { predictions: FixturePrediction[]; labels: FixtureLabel[] }): string[] {
  const lines: string[] = [];
  for (const p of f.predictions) {
    const event: Record<string, unknown> = {
      event: "ml.prediction",
      time: p.timeMs,
      "ml.model.name": p.model,
      "ml.model.version": p.version,
      "ml.prediction.id": p.id,
    };
    if (p.predictedClass !== undefined) event["ml.prediction.class"] = p.predictedClass;
    if (p.predictedValue !== undefined) event["ml.prediction.value"] = p.predictedValue;
    if (p.scoreYes !== undefined) event["ml.prediction.score.yes"] = p.scoreYes;
    for (const [k, v] of Object.entries(p.numeric)) event[`ml.feature.${k}`] = v;
    for (const [k, v] of Object.entries(p.categorical)) event[`ml.feature.${k}`] = v;
    for (const [k, v] of Object.entries(p.segments)) event[`ml.segment.${k}`] = v;
    lines.push(JSON.stringify(event));
  }
  for (const l of f.labels) lines.push(JSON.stringify(labelEvent(l)));
  return lines;
}

export function labelEvent(l: FixtureLabel): Record<string, unknown> {
  const event: Record<string, unknown> = {
    event: "ml.label",
    time: l.timeMs,
    "ml.model.name": l.model,
    "ml.prediction.id": l.id,
  };
  if (l.labelClass !== undefined) event["ml.label.class"] = l.labelClass;
  if (l.labelValue !== undefined) event["ml.label.value"] = l.labelValue;
  return event;
}

/** Posts NDJSON lines to a running service in chunks; throws unless every line was accepted. */
export async function sendLines(url: string, lines: readonly string[], chunk = 2000): Promise<void> {
  for (let i = 0; i < lines.length; i += chunk) {
    const res = await fetch(`${url}/v1/events`, {
      method: "POST",
      body: lines.slice(i, i + chunk).join("\n"),
    });
    const body = (await res.json()) as { accepted: number; rejected: number; errors: unknown[] };
    if (res.status !== 200 || body.rejected > 0)
      throw new Error(
        `ingest refused fixture lines: ${res.status} ${JSON.stringify(body.errors.slice(0, 3))}`,
      );
  }
}

/**
 * Stores the events straight into a store's tables (RowBinary, as ingest writes them), for tests of the
 * analyzers over stores no service runs on. Rows are as the collector makes them from `ndjsonLines`.
 */
export async function insertFixture(
  store: Store,
  f: { predictions: FixturePrediction[]; labels: FixtureLabel[] },
): Promise<void> {
  const rows = new PredictionRows();
  for (const p of f.predictions)
    rows.add({
      timeMs: p.timeMs,
      model: p.model,
      modelVersion: p.version,
      predictionId: p.id,
      predictedClass: p.predictedClass ?? "",
      predictedValue: p.predictedValue ?? null,
      classScores: new Map(p.scoreYes === undefined ? [] : [["yes", p.scoreYes]]),
      numericFeatures: new Map(Object.entries(p.numeric)),
      categoricalFeatures: new Map(Object.entries(p.categorical)),
      segments: new Map(Object.entries(p.segments)),
      latencyMs: null,
      source: "events",
      traceId: "",
      spanId: "",
    });
  await store.insertRows("predictions", rows.bytes());
  const labels: Label[] = f.labels.map((l) => ({
    timeMs: l.timeMs,
    model: l.model,
    predictionId: l.id,
    labelClass: l.labelClass ?? "",
    labelValue: l.labelValue ?? null,
  }));
  await store.insertRows("labels", labelsRowBinary(labels));
}
