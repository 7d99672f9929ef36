/**
 * The demo's synthetic traffic: three models with known behaviour, as OpenTelemetry log records.
 *
 * - `churn` (v1, classification yes/no, features age, tenure, plan; segment region): right 80 % of the
 *   time; from the drift's start (six hours before the demo, driftStart) its customers are older (`age`
 *   around 52 instead of 40) and have been customers longer (`tenure` 19 months more), so both features
 *   drift while the model's score, and so the class mix and its precision and recall, do not: a drifting
 *   model whose quality holds (a shift of the class mix alone moves per-class recall). A shadow candidate
 *   (candidate.ts) runs beside it.
 * - `fraud` (v3, binary 0/1 with scores, features amount, country): steady all along.
 * - `eta` (v2, regression, feature distance): its errors triple from the drift's start (its MAE degrades).
 *
 * History starts at 00:00 UTC of the day before the drift's, so the versions' first full day (the drift
 * reference) is complete before the drift. Labels come for 70 % of predictions, an hour after them.
 */

export const DEMO_MODELS = ["churn", "fraud", "eta"] as const;
export const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
export const LABEL_DELAY_MS = HOUR_MS;

export interface DemoRecord {
  eventName: "ml.prediction" | "ml.label";
  /** Event time, epoch ms. */
  timeMs: number;
  attributes: Record<string, string | number>;
}

/** When the demo's drift starts: six hours before the demo, at the hour. */
export function driftStart(nowMs: number): number {
  return Math.floor(nowMs / HOUR_MS) * HOUR_MS - 6 * HOUR_MS;
}

/** When the demo's history starts: 00:00 UTC of the day before the drift's, a full day before it. */
export function historyStart(nowMs: number): number {
  return Math.floor(driftStart(nowMs) / DAY_MS) * DAY_MS - DAY_MS;
}

/** A deterministic generator (mulberry32), so a demo's traffic is the same from run to run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rand: () => number, mean: number, sd: number): number {
  const u = Math.max(rand(), 1e-12);
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

const round = (x: number, places: number) => Math.round(x * 10 ** places) / 10 ** places;

/** The production churn model's rule, which the shadow candidate approximates. */
export function churnSaysYes(age: number, tenure: number): boolean {
  return 0.08 * (age - 45) - 0.05 * (tenure - 24) > 0;
}

/**
 * One prediction of `model` at `timeMs` (numbered `n`), and its label when it gets one (sent
 * LABEL_DELAY_MS later).
 */
export function demoPrediction(
  model: (typeof DEMO_MODELS)[number],
  timeMs: number,
  n: number,
  rand: () => number,
  driftFromMs: number,
): { prediction: DemoRecord; label?: DemoRecord } {
  const drifted = timeMs >= driftFromMs;
  const id = `${model}-${timeMs}-${n}`;
  const latency = round(4 + 20 * rand() ** 3 + (model === "eta" ? 6 : 0), 2);
  const labelled = rand() < 0.7;
  // The event of this prediction, with its model's attributes, and its label when it gets one.
  const event = (attributes: Record<string, string | number>, truth: Record<string, string | number>) => ({
    prediction: {
      eventName: "ml.prediction" as const,
      timeMs,
      attributes: { "ml.model.name": model, "ml.prediction.id": id, "ml.latency_ms": latency, ...attributes },
    },
    label: labelled ? labelRecord(model, id, timeMs, truth) : undefined,
  });
  if (model === "churn") {
    const age = round(normal(rand, drifted ? 52 : 40, 10), 1);
    // 0.08 × 12 years ≈ 0.05 × 19 months: the score the rule computes keeps its distribution.
    const tenure = Math.floor(rand() * 60) + (drifted ? 19 : 0);
    const says = churnSaysYes(age, tenure) ? "yes" : "no";
    const truth = rand() < 0.8 ? says : says === "yes" ? "no" : "yes";
    const score = round(1 / (1 + Math.exp(-(0.08 * (age - 45) - 0.05 * (tenure - 24)))), 4);
    return event(
      {
        "ml.model.version": "v1",
        "ml.prediction.class": says,
        "ml.prediction.score.yes": score,
        "ml.prediction.score.no": round(1 - score, 4),
        "ml.feature.age": age,
        "ml.feature.tenure": tenure,
        "ml.feature.plan": ["basic", "basic", "pro", "team"][Math.floor(rand() * 4)] as string,
        "ml.segment.region": rand() < 0.5 ? "eu" : "us",
      },
      { "ml.label.class": truth },
    );
  }
  if (model === "fraud") {
    const amount = round(Math.exp(normal(rand, 3.5, 1)), 2);
    const risky = rand() < 0.1;
    const score = round(Math.min(0.99, Math.max(0.01, (risky ? 0.7 : 0.1) + normal(rand, 0, 0.1))), 3);
    // 90 % of the risky ones are fraud, 1 % of the others: labels hold as much fraud as predictions flag,
    // so what the model says and what happened stay alike (their PSI near 0).
    const truth = rand() < (risky ? 0.9 : 0.011) ? "1" : "0";
    return event(
      {
        "ml.model.version": "v3",
        "ml.prediction.class": score > 0.5 ? "1" : "0",
        "ml.prediction.score.1": score,
        "ml.prediction.score.0": round(1 - score, 3),
        "ml.feature.amount": amount,
        "ml.feature.country": ["de", "fr", "us", "br"][Math.floor(rand() * 4)] as string,
      },
      { "ml.label.class": truth },
    );
  }
  const distance = round(1 + 49 * rand(), 2);
  const truth = round(5 + 2.5 * distance + normal(rand, 0, 4), 1);
  const predicted = round(truth + normal(rand, 0, drifted ? 12 : 4), 1);
  return event(
    { "ml.model.version": "v2", "ml.prediction.value": predicted, "ml.feature.distance": distance },
    { "ml.label.value": truth },
  );
}

function labelRecord(
  model: string,
  id: string,
  predictedAtMs: number,
  truth: Record<string, string | number>,
): DemoRecord {
  return {
    eventName: "ml.label",
    timeMs: predictedAtMs + LABEL_DELAY_MS,
    attributes: { "ml.model.name": model, "ml.prediction.id": id, ...truth },
  };
}

/**
 * The history up to `nowMs`: `perHour` predictions an hour for each model from historyStart, and the labels
 * that have come by `nowMs` (those of predictions at least LABEL_DELAY_MS old); labels not yet due are
 * returned apart, to be sent when they are.
 */
export function demoHistory(
  nowMs: number,
  perHour: number,
  seed = 7,
): { records: DemoRecord[]; pendingLabels: DemoRecord[] } {
  const rand = random(seed);
  const from = historyStart(nowMs);
  const drift = driftStart(nowMs);
  const records: DemoRecord[] = [];
  const pendingLabels: DemoRecord[] = [];
  const step = HOUR_MS / perHour;
  let n = 0;
  for (let t = from; t < nowMs; t += step)
    for (const model of DEMO_MODELS) {
      const { prediction, label } = demoPrediction(model, Math.floor(t), n++, rand, drift);
      records.push(prediction);
      if (label) (label.timeMs <= nowMs ? records : pendingLabels).push(label);
    }
  return { records, pendingLabels };
}
