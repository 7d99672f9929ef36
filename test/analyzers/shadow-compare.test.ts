import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AnalysisOptions, Analyzer, DEFAULT_ANALYSIS } from "../../analyzers/index.js";
import { RowBinaryWriter, type ShadowPrediction, writeShadowPrediction } from "../../store/index.js";
import {
  type FixtureLabel,
  type FixturePrediction,
  HOUR_MS,
  ndjsonLines,
  random,
  sendLines,
} from "../helpers/fixtures.js";
import { startTestService, type TestService } from "../helpers/service.js";

// Expectations are computed here, from the events and answers written, by the definitions the analyzers'
// README states: agreement = share of answered predictions where both classes are equal; p' = (c/n + 1e-4)
// / (1 + k·1e-4) over the union of classes (or the bins); KL = Σ p ln(p/q), natural log, D(candidate ‖
// production); recall/F1 as scikit-learn (zero_division=0) over the union of each side's predicted and
// actual classes; values binned at the deciles of the production values (sorted index ⌊level·n⌋).

const DAY_MS = 24 * HOUR_MS;
// Windows at hours 1 and 2 of a day three days back: the versions' baseline is the next day, which holds
// nothing, so a changed window has no dependents and an incremental run recomputes it alone.
const DAY0 = Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS;
const HOURS = [1, 2];
const hourStart = (h: number) => DAY0 + h * HOUR_MS;
const CLASSES = ["a", "b", "c"];

const rand = random(20261127);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
const round1 = (x: number) => Math.round(x * 10) / 10;

const predictions: FixturePrediction[] = [];
const labels: FixtureLabel[] = [];
/** Candidate answers as written, by candidate then prediction id (a re-run overwrites entries). */
const answers = new Map<string, Map<string, ShadowPrediction>>();

function answer(
  p: FixturePrediction,
  candidate: string,
  cls: string,
  value: number | null,
  latencyMs: number,
) {
  const byId = answers.get(candidate) ?? new Map<string, ShadowPrediction>();
  answers.set(candidate, byId);
  const a: ShadowPrediction = {
    timeMs: p.timeMs,
    model: p.model,
    modelVersion: p.version,
    candidate,
    predictionId: p.id,
    candidateClass: cls,
    candidateValue: value,
    scoreClasses: cls === "" ? [] : CLASSES,
    scores: cls === "" ? [] : CLASSES.map((c) => (c === cls ? 0.8 : 0.1)),
    latencyMs,
  };
  byId.set(p.id, a);
  return a;
}

/** The fixture: a classifier "fraud" with two candidates, and a regression model "eta" with one. */
function generate(): ShadowPrediction[] {
  const written: ShadowPrediction[] = [];
  for (const h of HOURS) {
    for (let i = 0; i < 150; i++) {
      // Production leans to "a" in hour 1 and to "c" in hour 2.
      const skew = h === 1 ? ["a", "a", "b", "c"] : ["a", "b", "c", "c", "c"];
      const p: FixturePrediction = {
        timeMs: hourStart(h) + i * 20_000,
        model: "fraud",
        version: "v1",
        id: `f-${h}-${i}`,
        predictedClass: pick(skew),
        numeric: {},
        categorical: {},
        segments: {},
      };
      predictions.push(p);
      if (rand() < 0.7) {
        const actual = rand() < 0.6 ? (p.predictedClass as string) : pick(CLASSES);
        labels.push({ timeMs: p.timeMs + 60_000, model: "fraud", id: p.id, labelClass: actual });
      }
      // cand-a leaves every sixth prediction unanswered; cand-b answers every third.
      if (i % 6 !== 0) {
        const cls = rand() < 0.7 ? (p.predictedClass as string) : pick(CLASSES);
        written.push(answer(p, "cand-a", cls, null, (i % 4) + 0.25));
      }
      if (i % 3 === 0) written.push(answer(p, "cand-b", pick(["b", "c"]), null, 3));
    }
    for (let i = 0; i < 100; i++) {
      const value = round1(100 + 80 * (rand() - 0.5));
      const p: FixturePrediction = {
        timeMs: hourStart(h) + i * 30_000,
        model: "eta",
        version: "v1",
        id: `e-${h}-${i}`,
        predictedValue: value,
        numeric: {},
        categorical: {},
        segments: {},
      };
      predictions.push(p);
      if (rand() < 0.7)
        labels.push({
          timeMs: p.timeMs,
          model: "eta",
          id: p.id,
          labelValue: round1(value + 12 * (rand() - 0.3)),
        });
      // Some candidate values land exactly on a production value, so on a bin edge (edges are inclusive).
      const candidate =
        i % 7 === 0 ? pick(predictions.filter((x) => x.model === "eta")).predictedValue : null;
      if (i % 5 !== 0)
        written.push(answer(p, "eta-next", "", candidate ?? round1(value + 10 * (rand() - 0.5)), 1.5));
    }
  }
  return written;
}

async function writeAnswers(rows: readonly ShadowPrediction[]): Promise<void> {
  const w = new RowBinaryWriter();
  for (const r of rows) writeShadowPrediction(w, r);
  await service.store.insertRows("shadow_predictions", w.bytes());
}

const options: AnalysisOptions = { ...DEFAULT_ANALYSIS, lateVisibilityMs: 0 };
let service: TestService;
let analyzer: Analyzer;

beforeAll(async () => {
  // No scheduled analysis: this test decides when the analyzers run.
  service = await startTestService({ "analyze-interval-minutes": "0" });
  const written = generate();
  await sendLines(service.url, ndjsonLines({ predictions, labels }));
  await service.flushed();
  await writeAnswers(written);
  analyzer = new Analyzer(service.store, options);
  await analyzer.analyzeChanges();
});
afterAll(async () => {
  await service?.stop();
});

interface Row {
  model: string;
  metric: string;
  subject: string;
  segment: string;
  value: number;
  sample_size: number;
  reference: string;
  status: string;
  ws: number;
  computed: number;
}

const metricRows = () =>
  service.rows<Row>(
    `SELECT model, metric, subject, segment, value, sample_size, reference, status,
       toUnixTimestamp64Milli(window_start) AS ws, toUnixTimestamp64Milli(computed_at) AS computed
     FROM modelwatch.metrics FINAL WHERE startsWith(metric, 'shadow_')`,
  );

function find(rows: Row[], model: string, hour: number, metric: string, subject: string): Row {
  const found = rows.filter(
    (r) => r.model === model && r.ws === hourStart(hour) && r.metric === metric && r.subject === subject,
  );
  expect(found, `${model} ${hour} ${metric} ${subject}`).toHaveLength(1);
  return found[0] as Row;
}

const close = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(
    1e-9 * Math.max(1, Math.abs(expected)),
  );

// ---- independent reference computations ----

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const smooth = (counts: number[]) => {
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (c / n + 1e-4) / (1 + counts.length * 1e-4));
};
const kl = (p: number[], q: number[]) => p.reduce((s, pi, i) => s + pi * Math.log(pi / (q[i] as number)), 0);
const divergences = (candidate: number[], production: number[]) => {
  const p = smooth(candidate);
  const q = smooth(production);
  const m = p.map((pi, i) => (pi + (q[i] as number)) / 2);
  return {
    kl: kl(p, q),
    js: Math.sqrt((kl(p, m) + kl(q, m)) / 2),
    psi: p.reduce((s, pi, i) => s + (pi - (q[i] as number)) * Math.log(pi / (q[i] as number)), 0),
  };
};

/** Accuracy, macro recall and macro F1 of (predicted, actual) pairs, as scikit-learn with zero_division=0. */
function quality(pairs: ReadonlyArray<{ predicted: string; actual: string }>) {
  const classes = [...new Set(pairs.flatMap((x) => [x.predicted, x.actual]))];
  const per = classes.map((c) => {
    const tp = pairs.filter((x) => x.predicted === c && x.actual === c).length;
    const predicted = pairs.filter((x) => x.predicted === c).length;
    const support = pairs.filter((x) => x.actual === c).length;
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    return { recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
  });
  return {
    accuracy: pairs.filter((x) => x.predicted === x.actual).length / pairs.length,
    recallMacro: mean(per.map((k) => k.recall)),
    f1Macro: mean(per.map((k) => k.f1)),
  };
}

const inHour = (p: { timeMs: number }, h: number) =>
  p.timeMs >= hourStart(h) && p.timeMs < hourStart(h) + HOUR_MS;

/** The predictions of a model in an hour that the candidate answered, with the answer and any label. */
function answered(model: string, candidate: string, h: number) {
  const byId = new Map(labels.filter((l) => l.model === model).map((l) => [l.id, l]));
  const given = answers.get(candidate) ?? new Map<string, ShadowPrediction>();
  return predictions
    .filter((p) => p.model === model && inHour(p, h) && given.has(p.id))
    .map((p) => ({ p, a: given.get(p.id) as ShadowPrediction, l: byId.get(p.id) }));
}

function expectedClassification(candidate: string, h: number) {
  const rows = answered("fraud", candidate, h);
  const count = (xs: string[], c: string) => xs.filter((x) => x === c).length;
  const production = rows.map(({ p }) => p.predictedClass as string);
  const chosen = rows.map(({ a }) => a.candidateClass);
  const labelled = rows.filter(({ l }) => l !== undefined);
  const cells = new Map<string, number>();
  for (const { p, a } of rows) {
    const key = `${candidate}|${p.predictedClass}|${a.candidateClass}`;
    cells.set(key, (cells.get(key) ?? 0) + 1);
  }
  return {
    n: rows.length,
    latency: mean(rows.map(({ a }) => a.latencyMs)),
    agreement: rows.filter(({ p, a }) => p.predictedClass === a.candidateClass).length / rows.length,
    cells,
    // Classes in sorted order on both sides; "a" may be absent from one of them.
    divergences: divergences(
      CLASSES.map((c) => count(chosen, c)),
      CLASSES.map((c) => count(production, c)),
    ),
    labelled: labelled.length,
    candidate: quality(
      labelled.map(({ a, l }) => ({ predicted: a.candidateClass, actual: l?.labelClass ?? "" })),
    ),
    production: quality(
      labelled.map(({ p, l }) => ({ predicted: p.predictedClass as string, actual: l?.labelClass ?? "" })),
    ),
  };
}

describe("shadow comparisons in the analyzers", () => {
  it("count what each candidate answered per window, and its mean latency", async () => {
    const rows = await metricRows();
    // One row per candidate that answered: none for the predictions left unanswered.
    const counted = (model: string, h: number) =>
      rows
        .filter((r) => r.model === model && r.ws === hourStart(h) && r.metric === "shadow_count")
        .map((r) => r.subject)
        .sort();
    for (const h of HOURS) {
      expect(counted("fraud", h)).toEqual(["cand-a", "cand-b"]);
      expect(counted("eta", h)).toEqual(["eta-next"]);
    }
    for (const h of HOURS)
      for (const candidate of ["cand-a", "cand-b"]) {
        const e = expectedClassification(candidate, h);
        const count = find(rows, "fraud", h, "shadow_count", candidate);
        // 150 predictions an hour: cand-a leaves 25 unanswered, cand-b answers 50.
        expect(count.value).toBe(candidate === "cand-a" ? 125 : 50);
        expect(count.value).toBe(e.n);
        close(find(rows, "fraud", h, "shadow_latency_ms", candidate).value, e.latency);
        expect(count.segment).toBe("");
      }
  });

  it("measure agreement, the confusion between production and candidate, and KL/JS/PSI of their classes", async () => {
    const rows = await metricRows();
    for (const h of HOURS)
      for (const candidate of ["cand-a", "cand-b"]) {
        const e = expectedClassification(candidate, h);
        const agreement = find(rows, "fraud", h, "shadow_agreement", candidate);
        close(agreement.value, e.agreement);
        expect(agreement.sample_size).toBe(e.n);
        const confusion = rows.filter(
          (r) =>
            r.model === "fraud" &&
            r.ws === hourStart(h) &&
            r.metric === "shadow_confusion" &&
            r.subject.startsWith(`${candidate}|`),
        );
        expect(new Map(confusion.map((r) => [r.subject, r.value]))).toEqual(e.cells);
        const kl = find(rows, "fraud", h, "shadow_kl_divergence", candidate);
        close(kl.value, e.divergences.kl);
        expect(kl.reference).toBe("production");
        expect(kl.sample_size).toBe(e.n);
        close(find(rows, "fraud", h, "shadow_js_distance", candidate).value, e.divergences.js);
        close(find(rows, "fraud", h, "shadow_psi", candidate).value, e.divergences.psi);
      }
    // cand-b never says "a": KL is not symmetric, and its direction is D(candidate ‖ production).
    const e = expectedClassification("cand-b", 1);
    const reversed = kl(
      smooth(
        CLASSES.map((c) => answered("fraud", "cand-b", 1).filter(({ p }) => p.predictedClass === c).length),
      ),
      smooth(
        CLASSES.map((c) => answered("fraud", "cand-b", 1).filter(({ a }) => a.candidateClass === c).length),
      ),
    );
    expect(Math.abs(reversed - e.divergences.kl)).toBeGreaterThan(0.1);
  });

  it("compare both sides' accuracy, macro recall and macro F1 on the same labelled predictions", async () => {
    const rows = await metricRows();
    for (const h of HOURS)
      for (const candidate of ["cand-a", "cand-b"]) {
        const e = expectedClassification(candidate, h);
        for (const [metric, c, p] of [
          ["accuracy", e.candidate.accuracy, e.production.accuracy],
          ["recall_macro", e.candidate.recallMacro, e.production.recallMacro],
          ["f1_macro", e.candidate.f1Macro, e.production.f1Macro],
        ] as const) {
          const row = find(rows, "fraud", h, `shadow_${metric}`, candidate);
          close(row.value, c);
          expect(row.sample_size).toBe(e.labelled);
          close(find(rows, "fraud", h, `shadow_production_${metric}`, candidate).value, p);
          close(find(rows, "fraud", h, `shadow_${metric}_delta`, candidate).value, c - p);
        }
      }
    // Production's accuracy on cand-b's third of the traffic is not its accuracy on the whole window: the
    // comparison is on exactly the predictions the candidate answered.
    const whole = find(
      await service.rows<Row>(
        `SELECT model, metric, subject, value, toUnixTimestamp64Milli(window_start) AS ws
         FROM modelwatch.metrics FINAL WHERE metric = 'accuracy' AND segment = ''`,
      ),
      "fraud",
      1,
      "accuracy",
      "",
    ).value;
    expect(Math.abs(whole - expectedClassification("cand-b", 1).production.accuracy)).toBeGreaterThan(0.01);
  });

  it("compare a regression candidate's values with production's: difference, binned divergences, MAE and RMSE", async () => {
    const rows = await metricRows();
    for (const h of HOURS) {
      const given = answered("eta", "eta-next", h);
      const pv = given.map(({ p }) => p.predictedValue as number);
      const cv = given.map(({ a }) => a.candidateValue as number);
      expect(find(rows, "eta", h, "shadow_count", "eta-next").value).toBe(80);
      const difference = find(rows, "eta", h, "shadow_mean_abs_difference", "eta-next");
      close(difference.value, mean(given.map((_, i) => Math.abs((cv[i] as number) - (pv[i] as number)))));
      expect(difference.sample_size).toBe(80);

      const sorted = [...pv].sort((a, b) => a - b);
      const edges = [
        ...new Set(
          [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map(
            (l) => sorted[Math.floor(l * sorted.length)] as number,
          ),
        ),
      ];
      const bins = (xs: number[]) => {
        const c = new Array(edges.length + 1).fill(0);
        for (const x of xs) c[edges.filter((e) => e <= x).length]++;
        return c;
      };
      const d = divergences(bins(cv), bins(pv));
      close(find(rows, "eta", h, "shadow_kl_divergence", "eta-next").value, d.kl);
      close(find(rows, "eta", h, "shadow_js_distance", "eta-next").value, d.js);
      close(find(rows, "eta", h, "shadow_psi", "eta-next").value, d.psi);

      const labelled = given.filter(({ l }) => l !== undefined);
      const errors = (value: (x: (typeof labelled)[number]) => number) =>
        labelled.map((x) => value(x) - (x.l?.labelValue as number));
      const candidate = errors(({ a }) => a.candidateValue as number);
      const production = errors(({ p }) => p.predictedValue as number);
      const mae = [mean(candidate.map(Math.abs)), mean(production.map(Math.abs))] as const;
      const rmse = [
        Math.sqrt(mean(candidate.map((e) => e * e))),
        Math.sqrt(mean(production.map((e) => e * e))),
      ] as const;
      for (const [metric, [c, p]] of [
        ["mae", mae],
        ["rmse", rmse],
      ] as const) {
        const row = find(rows, "eta", h, `shadow_${metric}`, "eta-next");
        close(row.value, c);
        expect(row.sample_size).toBe(labelled.length);
        close(find(rows, "eta", h, `shadow_production_${metric}`, "eta-next").value, p);
        close(find(rows, "eta", h, `shadow_${metric}_delta`, "eta-next").value, c - p);
      }
      // A value model has no class comparisons.
      expect(rows.filter((r) => r.model === "eta" && r.metric === "shadow_agreement")).toEqual([]);
    }
  });

  it("recompute the window a re-run answered again, replacing the earlier answers' values", async () => {
    const before = await metricRows();
    // cand-a run again over hour 2: now it says "c" to everything.
    const rerun = answered("fraud", "cand-a", 2).map(({ p, a }) =>
      answer(p, "cand-a", "c", null, a.latencyMs),
    );
    await writeAnswers(rerun);
    const report = await analyzer.analyzeChanges();
    expect(report.windows).toBe(1);

    const after = await metricRows();
    const computedBefore = new Map(
      before.map((r) => [`${r.model}|${r.metric}|${r.subject}|${r.ws}`, r.computed]),
    );
    for (const r of after) {
      const earlier = computedBefore.get(`${r.model}|${r.metric}|${r.subject}|${r.ws}`);
      if (r.model === "fraud" && r.ws === hourStart(2)) expect(r.computed).toBeGreaterThan(earlier ?? 0);
      else expect(r.computed).toBe(earlier);
    }
    const e = expectedClassification("cand-a", 2);
    expect(e.n).toBe(125);
    const productionC = answered("fraud", "cand-a", 2).filter(({ p }) => p.predictedClass === "c").length;
    close(e.agreement, productionC / 125);
    close(find(after, "fraud", 2, "shadow_agreement", "cand-a").value, e.agreement);
    close(find(after, "fraud", 2, "shadow_kl_divergence", "cand-a").value, e.divergences.kl);
    close(find(after, "fraud", 2, "shadow_accuracy", "cand-a").value, e.candidate.accuracy);
    close(
      find(after, "fraud", 2, "shadow_f1_macro_delta", "cand-a").value,
      e.candidate.f1Macro - e.production.f1Macro,
    );
    // Only "…|c" cells remain: those of the earlier answers are gone, not left beside the new ones.
    const cells = after.filter(
      (r) => r.ws === hourStart(2) && r.metric === "shadow_confusion" && r.subject.startsWith("cand-a|"),
    );
    expect(new Map(cells.map((r) => [r.subject, r.value]))).toEqual(e.cells);
    expect(cells.every((r) => r.subject.endsWith("|c"))).toBe(true);
  });

  it("export the newest window's comparisons on /metrics with the candidate as a label", async () => {
    const res = await fetch(`${service.url}/analyze`, { method: "POST", body: "{}" });
    expect(res.status).toBe(200);
    const text = await (await fetch(`${service.url}/metrics`)).text();
    const sample = (metric: string, candidate: string) => {
      const line = text
        .split("\n")
        .find((l) => l.startsWith(`modelwatch_${metric}{`) && l.includes(`candidate="${candidate}"`));
      expect(line, `${metric} ${candidate}`).toBeDefined();
      return Number(line?.split(" ").pop());
    };
    const e = expectedClassification("cand-a", 2);
    close(sample("shadow_agreement", "cand-a"), e.agreement);
    close(sample("shadow_accuracy_delta", "cand-a"), e.candidate.accuracy - e.production.accuracy);
    close(sample("shadow_count", "cand-b"), 50);
    expect(text).toMatch(/^modelwatch_shadow_agreement\{[^}]*model="fraud"[^}]*\}/m);
    const status = text
      .split("\n")
      .filter((l) => l.startsWith("modelwatch_metric_status{") && l.includes('metric="shadow_agreement"'));
    expect(status.some((l) => l.includes('candidate="cand-a"'))).toBe(true);
    expect(text).not.toMatch(/shadow_confusion/);
  });
});
