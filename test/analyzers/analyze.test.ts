import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AnalysisOptions, Analyzer, DEFAULT_ANALYSIS } from "../../analyzers/index.js";
import {
  type FixtureLabel,
  type FixturePrediction,
  generateFixture,
  HOUR_MS,
  labelEvent,
  ndjsonLines,
  sendLines,
} from "../helpers/fixtures.js";
import { startTestService, type TestService } from "../helpers/service.js";

// Expectations are computed here, from the generated events, by the definitions the README states:
// scikit-learn's precision/recall/F1 (zero_division=0); deciles at sorted index ⌊level·n⌋ with open outer
// bins; p' = (c/n + 1e-4) / (1 + k·1e-4); KL = Σ p ln(p/q) (natural log), D(window ‖ reference).

const DAY_MS = 24 * HOUR_MS;
const START = Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS;
const LATE_HOUR = 40;
const fixture = generateFixture({
  startMs: START,
  hours: 48,
  perHour: 40,
  priorShiftHour: 30,
  ageShiftHour: 36,
  degradeHour: 44,
  labelRate: 0.7,
  seed: 7,
});
const isLate = (l: FixtureLabel) =>
  l.model === "churn" && l.id.startsWith(`c-${LATE_HOUR}-`) && Number(l.id.split("-")[2]) % 4 === 0;
const onTime = { predictions: fixture.predictions, labels: fixture.labels.filter((l) => !isLate(l)) };
const late = fixture.labels.filter(isLate);

const options: AnalysisOptions = { ...DEFAULT_ANALYSIS, lateVisibilityMs: 0 };
let service: TestService;
let analyzer: Analyzer;

interface Row {
  model: string;
  segment: string;
  metric: string;
  subject: string;
  value: number;
  sample_size: number;
  reference: string;
  status: string;
  ws: number;
  computed: number;
}

const metricRows = () =>
  service.rows<Row>(
    `SELECT model, segment, metric, subject, value, sample_size, reference, status,
       toUnixTimestamp64Milli(window_start) AS ws, toUnixTimestamp64Milli(computed_at) AS computed
     FROM modelwatch.metrics FINAL`,
  );

function find(rows: Row[], q: Partial<Row> & { hour: number }): Row {
  const found = rows.filter(
    (r) =>
      r.ws === START + q.hour * HOUR_MS &&
      (q.model ?? "churn") === r.model &&
      (q.segment ?? "") === r.segment &&
      r.metric === q.metric &&
      (q.subject ?? "") === r.subject,
  );
  expect(found, JSON.stringify(q)).toHaveLength(1);
  return found[0] as Row;
}

const close = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(
    1e-9 * Math.max(1, Math.abs(expected)),
  );

beforeAll(async () => {
  service = await startTestService();
  await sendLines(service.url, ndjsonLines(onTime));
  await service.flushed();
  analyzer = new Analyzer(service.store, options);
});
afterAll(async () => {
  await service?.stop();
});

// ---- independent reference computations ----

const inHour = (p: { timeMs: number }, hour: number) =>
  p.timeMs >= START + hour * HOUR_MS && p.timeMs < START + (hour + 1) * HOUR_MS;

function labelled(model: string, hour: number, labels: readonly FixtureLabel[]) {
  const byId = new Map(labels.filter((l) => l.model === model).map((l) => [l.id, l]));
  const preds = fixture.predictions.filter((p) => p.model === model && inHour(p, hour));
  return {
    preds,
    pairs: preds.flatMap((p) => (byId.has(p.id) ? [{ p, l: byId.get(p.id) as FixtureLabel }] : [])),
  };
}

function classification(hour: number, labels: readonly FixtureLabel[], segment?: string) {
  const { pairs: all, preds } = labelled("churn", hour, labels);
  const pairs = segment ? all.filter(({ p }) => `region=${p.segments.region}` === segment) : all;
  const classes = ["no", "yes"];
  const per = classes.map((c) => {
    const tp = pairs.filter(({ p, l }) => p.predictedClass === c && l.labelClass === c).length;
    const predicted = pairs.filter(({ p }) => p.predictedClass === c).length;
    const support = pairs.filter(({ l }) => l.labelClass === c).length;
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { c, precision, recall, f1, support };
  });
  const n = pairs.length;
  return {
    count: segment ? preds.filter((p) => `region=${p.segments.region}` === segment).length : preds.length,
    labelled: n,
    accuracy: pairs.filter(({ p, l }) => p.predictedClass === l.labelClass).length / n,
    per,
    f1Macro: (per[0]!.f1 + per[1]!.f1) / 2,
    f1Weighted: (per[0]!.f1 * per[0]!.support + per[1]!.f1 * per[1]!.support) / n,
    pairs,
  };
}

const smooth = (counts: number[]) => {
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (c / n + 1e-4) / (1 + counts.length * 1e-4));
};
const kl = (p: number[], q: number[]) => p.reduce((s, pi, i) => s + pi * Math.log(pi / (q[i] as number)), 0);
const psi = (p: number[], q: number[]) =>
  p.reduce((s, pi, i) => s + (pi - (q[i] as number)) * Math.log(pi / (q[i] as number)), 0);
const jsDistance = (p: number[], q: number[]) => {
  const m = p.map((pi, i) => (pi + (q[i] as number)) / 2);
  return Math.sqrt((kl(p, m) + kl(q, m)) / 2);
};

function deciles(values: number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const edges = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map(
    (l) => sorted[Math.min(sorted.length - 1, Math.floor(l * sorted.length))] as number,
  );
  return [...new Set(edges)];
}
const binOf = (edges: number[], x: number) => edges.filter((e) => e <= x).length;

function numericDrift(model: string, feature: string, hour: number) {
  const baseline = fixture.predictions.filter((p) => p.model === model && p.timeMs < START + DAY_MS);
  const edges = deciles(baseline.map((p) => p.numeric[feature] as number));
  const counts = (ps: FixturePrediction[]) => {
    const c = new Array(edges.length + 1).fill(0);
    for (const p of ps) c[binOf(edges, p.numeric[feature] as number)]++;
    return c;
  };
  const cur = smooth(counts(fixture.predictions.filter((p) => p.model === model && inHour(p, hour))));
  const ref = smooth(counts(baseline));
  return { kl: kl(cur, ref), js: jsDistance(cur, ref), psi: psi(cur, ref) };
}

function categoricalDrift(value: (p: FixturePrediction) => string, hour: number) {
  const baseline = fixture.predictions.filter((p) => p.model === "churn" && p.timeMs < START + DAY_MS);
  const freq = new Map<string, number>();
  for (const p of baseline) freq.set(value(p), (freq.get(value(p)) ?? 0) + 1);
  const top = [...freq]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([v]) => v)
    .slice(0, 20);
  const counts = (ps: FixturePrediction[]) => {
    const c = new Array(top.length + 1).fill(0);
    for (const p of ps) c[top.indexOf(value(p)) + 1]++;
    return c;
  };
  const cur = smooth(counts(fixture.predictions.filter((p) => p.model === "churn" && inHour(p, hour))));
  return kl(cur, smooth(counts(baseline)));
}

describe("the analyzers, on events sent through the collector", () => {
  it("compute each window's classification metrics as scikit-learn would", async () => {
    await analyzer.analyzeChanges();
    const rows = await metricRows();
    const statuses: string[] = [];
    for (const hour of [5, 33, LATE_HOUR, 45]) {
      const e = classification(hour, onTime.labels);
      close(find(rows, { hour, metric: "count" }).value, e.count);
      close(find(rows, { hour, metric: "labelled_count" }).value, e.labelled);
      close(find(rows, { hour, metric: "label_coverage" }).value, e.labelled / e.count);
      close(find(rows, { hour, metric: "accuracy" }).value, e.accuracy);
      expect(find(rows, { hour, metric: "accuracy" }).sample_size).toBe(e.labelled);
      // Status against the first day's windows: below mean − 3 population standard deviations (NannyML's
      // band, on the side where accuracy is worse), widened by √(typical / n) for a window of n labelled
      // predictions fewer than the day's windows typically had (their median).
      const days = Array.from({ length: 24 }, (_, h) => classification(h, onTime.labels));
      const day = days.map((d) => d.accuracy);
      const mean = day.reduce((a, b) => a + b, 0) / day.length;
      const sd = Math.sqrt(day.reduce((a, b) => a + (b - mean) ** 2, 0) / day.length);
      const sizes = days.map((d) => d.labelled).sort((a, b) => a - b);
      const typical = ((sizes[11] as number) + (sizes[12] as number)) / 2;
      const outside = e.accuracy < mean - 3 * sd * Math.max(1, Math.sqrt(typical / e.labelled));
      expect(find(rows, { hour, metric: "accuracy" }).status).toBe(outside ? "alert" : "ok");
      statuses.push(outside ? "alert" : "ok");
      for (const k of e.per) {
        close(find(rows, { hour, metric: "precision", subject: k.c }).value, k.precision);
        close(find(rows, { hour, metric: "recall", subject: k.c }).value, k.recall);
        close(find(rows, { hour, metric: "f1", subject: k.c }).value, k.f1);
      }
      close(find(rows, { hour, metric: "f1_macro" }).value, e.f1Macro);
      close(find(rows, { hour, metric: "f1_weighted" }).value, e.f1Weighted);
      const yesAsNo = e.pairs.filter(
        ({ p, l }) => p.predictedClass === "yes" && l.labelClass === "no",
      ).length;
      // A cell with no predictions has no row.
      const cell = rows.filter(
        (r) =>
          r.ws === START + hour * HOUR_MS &&
          r.metric === "confusion" &&
          r.subject === "yes|no" &&
          r.model === "churn",
      );
      expect(cell.map((r) => r.value)).toEqual(yesAsNo ? [yesAsNo] : []);
    }
    // The model degrades at hour 44: the band catches it, and leaves the healthy windows alone.
    expect(statuses).toEqual(["ok", "ok", "ok", "alert"]);
  });

  it("compute ROC AUC of a binary classifier from its scores, ties counting half (as roc_auc_score)", async () => {
    const rows = await metricRows();
    for (const hour of [3, 33]) {
      const { pairs } = labelled("churn", hour, onTime.labels);
      const pos = pairs.filter(({ l }) => l.labelClass === "yes").map(({ p }) => p.scoreYes as number);
      const neg = pairs.filter(({ l }) => l.labelClass === "no").map(({ p }) => p.scoreYes as number);
      let wins = 0;
      for (const a of pos) for (const b of neg) wins += a > b ? 1 : a === b ? 0.5 : 0;
      const row = find(rows, { hour, metric: "roc_auc", subject: "yes" });
      close(row.value, wins / (pos.length * neg.length));
      expect(row.sample_size).toBe(pos.length + neg.length);
    }
  });

  it("measure KL, JS distance and PSI of each feature against the first full day, per window", async () => {
    const rows = await metricRows();
    for (const hour of [5, 20, 37, 45]) {
      const age = numericDrift("churn", "age", hour);
      const row = find(rows, { hour, metric: "kl_divergence", subject: "age" });
      close(row.value, age.kl);
      expect(row.reference).toBe(
        `baseline ${new Date(START).toISOString().replace(".000Z", "Z")}/${new Date(START + DAY_MS).toISOString().replace(".000Z", "Z")}`,
      );
      expect(row.status).toBe(age.kl > 0.2 ? "alert" : age.kl > 0.1 ? "warn" : "ok");
      close(find(rows, { hour, metric: "js_distance", subject: "age" }).value, age.js);
      close(find(rows, { hour, metric: "psi", subject: "age" }).value, age.psi);
      close(
        find(rows, { hour, metric: "kl_divergence", subject: "tenure" }).value,
        numericDrift("churn", "tenure", hour).kl,
      );
      close(
        find(rows, { hour, metric: "kl_divergence", subject: "plan" }).value,
        categoricalDrift((p) => p.categorical.plan as string, hour),
      );
      close(
        find(rows, { hour, metric: "kl_divergence", subject: "prediction.class" }).value,
        categoricalDrift((p) => p.predictedClass as string, hour),
      );
    }
    // The mean shift of age at hour 36 shows: every window after it drifts more than any before it.
    const ageKl = (h: number) => find(rows, { hour: h, metric: "kl_divergence", subject: "age" }).value;
    const before = Math.max(...Array.from({ length: 36 }, (_, h) => ageKl(h)));
    const after = Math.min(...Array.from({ length: 12 }, (_, h) => ageKl(36 + h)));
    expect(after).toBeGreaterThan(before);
  });

  it("compare predicted classes with the labels' classes in the same window", async () => {
    const rows = await metricRows();
    for (const hour of [10, 35]) {
      const { preds, pairs } = labelled("churn", hour, onTime.labels);
      const count = (xs: string[], c: string) => xs.filter((x) => x === c).length;
      const p = smooth(
        ["no", "yes"].map((c) =>
          count(
            preds.map((x) => x.predictedClass as string),
            c,
          ),
        ),
      );
      const q = smooth(
        ["no", "yes"].map((c) =>
          count(
            pairs.map(({ l }) => l.labelClass as string),
            c,
          ),
        ),
      );
      close(find(rows, { hour, metric: "prediction_label_kl_divergence" }).value, kl(p, q));
      expect(find(rows, { hour, metric: "prediction_label_kl_divergence" }).reference).toBe("labels");
    }
  });

  it("compute regression errors, MAPE skipping zero targets", async () => {
    const rows = await metricRows();
    const hour = 10;
    const { pairs } = labelled("eta", hour, onTime.labels);
    const errors = pairs.map(({ p, l }) => (p.predictedValue as number) - (l.labelValue as number));
    const nonZero = pairs.filter(({ l }) => l.labelValue !== 0);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    close(find(rows, { model: "eta", hour, metric: "mae" }).value, mean(errors.map(Math.abs)));
    close(
      find(rows, { model: "eta", hour, metric: "rmse" }).value,
      Math.sqrt(mean(errors.map((e) => e * e))),
    );
    close(find(rows, { model: "eta", hour, metric: "bias" }).value, mean(errors));
    close(
      find(rows, { model: "eta", hour, metric: "mape" }).value,
      mean(
        nonZero.map(
          ({ p, l }) =>
            Math.abs((p.predictedValue as number) - (l.labelValue as number)) /
            Math.abs(l.labelValue as number),
        ),
      ),
    );
    close(
      find(rows, { model: "eta", hour, metric: "kl_divergence", subject: "distance" }).value,
      numericDrift("eta", "distance", hour).kl,
    );
  });

  it("recompute only the window a late label belongs to, which then has the new values", async () => {
    const before = await metricRows();
    await sendLines(
      service.url,
      late.map((l) => JSON.stringify(labelEvent(l))),
    );
    await service.flushed();
    const report = await analyzer.analyzeChanges();
    expect(report.windows).toBe(1);
    const after = await metricRows();
    const changed = after.filter((r) => r.ws === START + LATE_HOUR * HOUR_MS && r.model === "churn");
    const untouched = after.filter((r) => !(r.ws === START + LATE_HOUR * HOUR_MS && r.model === "churn"));
    const computedBefore = new Map(
      before.map((r) => [`${r.model}|${r.segment}|${r.metric}|${r.subject}|${r.ws}`, r.computed]),
    );
    for (const r of untouched)
      expect(r.computed).toBe(computedBefore.get(`${r.model}|${r.segment}|${r.metric}|${r.subject}|${r.ws}`));
    for (const r of changed)
      expect(r.computed).toBeGreaterThan(
        computedBefore.get(`${r.model}|${r.segment}|${r.metric}|${r.subject}|${r.ws}`) ?? 0,
      );
    const e = classification(LATE_HOUR, fixture.labels);
    expect(e.labelled).toBeGreaterThan(classification(LATE_HOUR, onTime.labels).labelled);
    close(find(after, { hour: LATE_HOUR, metric: "accuracy" }).value, e.accuracy);
    close(find(after, { hour: LATE_HOUR, metric: "labelled_count" }).value, e.labelled);
    // The predicted classes' drift: counted here from the window's cells against the baseline's bins kept
    // from the first run, and below by the binning statement (a new analyzer bins the baseline with it).
    const classDrift = categoricalDrift((p) => p.predictedClass as string, LATE_HOUR);
    const classKl = { hour: LATE_HOUR, metric: "kl_divergence", subject: "prediction.class" };
    close(find(after, classKl).value, classDrift);
    // Its statuses came from the baseline values the first run kept in memory; an analyzer that reads
    // them back from the table grades the window the same.
    await new Analyzer(service.store, options).analyze({
      models: ["churn"],
      fromMs: START + LATE_HOUR * HOUR_MS,
      toMs: START + (LATE_HOUR + 1) * HOUR_MS,
    });
    const statuses = (rows: Row[]) =>
      rows
        .filter((r) => r.ws === START + LATE_HOUR * HOUR_MS && r.model === "churn")
        .map((r) => `${r.segment}|${r.metric}|${r.subject}|${r.status}`)
        .sort();
    const again = await metricRows();
    expect(statuses(again)).toEqual(statuses(after));
    close(find(again, classKl).value, classDrift);
    expect(statuses(after).some((s) => s.startsWith("|accuracy||"))).toBe(true);
  });

  it("break quality metrics down by segment when asked", async () => {
    const segmented = new Analyzer(service.store, { ...options, segments: ["region"] });
    await segmented.analyze({ models: ["churn"], fromMs: START + 5 * HOUR_MS, toMs: START + 6 * HOUR_MS });
    const rows = await metricRows();
    for (const segment of ["region=eu", "region=us"]) {
      const e = classification(5, fixture.labels, segment);
      close(find(rows, { hour: 5, segment, metric: "accuracy" }).value, e.accuracy);
      close(find(rows, { hour: 5, segment, metric: "count" }).value, e.count);
    }
  });

  it("compare each window with the one before it when asked (reference: previous window)", async () => {
    const previous = new Analyzer(service.store, { ...options, reference: { kind: "previous" } });
    await previous.analyze({ models: ["churn"], fromMs: START + 37 * HOUR_MS, toMs: START + 38 * HOUR_MS });
    const rows = await metricRows();
    const window = (h: number) => fixture.predictions.filter((p) => p.model === "churn" && inHour(p, h));
    const edges = deciles(window(36).map((p) => p.numeric.age as number));
    const counts = (ps: FixturePrediction[]) => {
      const c = new Array(edges.length + 1).fill(0);
      for (const p of ps) c[binOf(edges, p.numeric.age as number)]++;
      return c;
    };
    const row = find(rows, { hour: 37, metric: "kl_divergence", subject: "age" });
    expect(row.reference).toBe("previous window");
    close(row.value, kl(smooth(counts(window(37))), smooth(counts(window(36)))));
  });

  it("recompute every window when a late prediction lands in the baseline, with the baseline's new bins", async () => {
    const late: FixturePrediction = {
      timeMs: START + 2 * HOUR_MS + 123,
      model: "churn",
      version: "v1",
      id: "late-baseline",
      predictedClass: "no",
      numeric: { age: 140, tenure: 3 },
      categorical: { plan: "team" },
      segments: { region: "eu" },
    };
    fixture.predictions.push(late);
    await sendLines(service.url, ndjsonLines({ predictions: [late], labels: [] }));
    await service.flushed();
    const report = await analyzer.analyzeChanges();
    expect(report.windows).toBeGreaterThanOrEqual(48); // every churn window, not only hour 2
    const rows = await metricRows();
    for (const hour of [20, 45]) {
      close(
        find(rows, { hour, metric: "kl_divergence", subject: "age" }).value,
        numericDrift("churn", "age", hour).kl,
      );
    }
  });
});
