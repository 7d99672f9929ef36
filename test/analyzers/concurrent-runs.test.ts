import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AnalysisOptions, Analyzer, DEFAULT_ANALYSIS } from "../../analyzers/index.js";
import { migrate, Store } from "../../store/index.js";
import {
  type FixtureLabel,
  type FixturePrediction,
  generateFixture,
  HOUR_MS,
  insertFixture,
} from "../helpers/fixtures.js";
import { tempDir } from "../helpers/service.js";

// Two analysis runs at once (two services on one ClickHouse, or `modelwatch analyze` beside a service) must
// leave the metrics one run leaves. Two databases of one embedded store get the same events: in `single`
// one run at a time analyses them, in `twice` two analyzers (as two processes would have) run at once, and
// the metrics each leaves are compared, every column but `computed_at`.

const DAY_MS = 24 * HOUR_MS;
const START = Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS;
const fixture = generateFixture({
  startMs: START,
  hours: 30,
  perHour: 10,
  priorShiftHour: 26,
  ageShiftHour: 27,
  degradeHour: 28,
  labelRate: 0.7,
  seed: 17,
});
// A model whose two predictions in hour 2 are first labelled wrongly, then corrected: the confusion cell
// `yes|no` of the first analysis no longer exists after the correction, so its row must be deleted.
const TINY_HOUR = START + 2 * HOUR_MS;
const tiny: FixturePrediction[] = [1, 2].map((i) => ({
  timeMs: TINY_HOUR + i * 60_000,
  model: "tiny",
  version: "v1",
  id: `t-${i}`,
  predictedClass: "yes",
  numeric: { x: i },
  categorical: {},
  segments: {},
}));
const tinyLabels = (labelClass: string): FixtureLabel[] =>
  tiny.map((p) => ({ timeMs: p.timeMs + 60_000, model: "tiny", id: p.id, labelClass }));
// Labels that arrive after the first analysis, for predictions of the first day (the baseline) and later.
const isLate = (l: FixtureLabel) =>
  Number(l.id.split("-")[1]) % 5 === 0 && Number(l.id.split("-")[2]) % 3 === 0;
const onTime = {
  predictions: [...fixture.predictions, ...tiny],
  labels: [...fixture.labels.filter((l) => !isLate(l)), ...tinyLabels("no")],
};
const late = { predictions: [], labels: [...fixture.labels.filter(isLate), ...tinyLabels("yes")] };

const options: AnalysisOptions = { ...DEFAULT_ANALYSIS, segments: ["region"], lateVisibilityMs: 0 };
const dir = tempDir();
let single: Store;
let twice: Store;

interface MetricRow {
  model: string;
  segment: string;
  metric: string;
  subject: string;
  window_start: string;
  value: number;
  sample_size: number;
  reference: string;
  status: string;
}

async function metrics(store: Store): Promise<MetricRow[]> {
  const rs = await store.client.query({
    query: `SELECT model, model_version, segment, metric, subject, window_start, window_end, value, sample_size,
              reference, status
            FROM ${store.database}.metrics FINAL ORDER BY ALL`,
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return rs.json<MetricRow>();
}

/** Two analyzers, as two processes would hold them, started together. */
async function atOnce(
  store: Store,
  runs: [(a: Analyzer) => Promise<unknown>, (a: Analyzer) => Promise<unknown>],
) {
  await Promise.all(runs.map((run) => run(new Analyzer(store, options))));
}

beforeAll(async () => {
  single = await Store.open({ database: "single", dataDir: dir.path });
  twice = await Store.open({ database: "twice", dataDir: dir.path });
  for (const store of [single, twice]) {
    await migrate(store, { retentionDays: 30 });
    await insertFixture(store, onTime);
  }
});
afterAll(async () => {
  await single?.close();
  await twice?.close();
  dir.remove();
});

describe("two analysis runs at once", () => {
  it("leave the metrics one run leaves, on a store never analysed", async () => {
    await new Analyzer(single, options).analyzeChanges();
    await atOnce(twice, [(a) => a.analyzeChanges(), (a) => a.analyzeChanges()]);
    const once = await metrics(single);
    expect(once.length).toBeGreaterThan(1000);
    expect(once).toContainEqual(
      expect.objectContaining({ model: "tiny", metric: "confusion", subject: "yes|no", value: 2 }),
    );
    expect(await metrics(twice)).toEqual(once);
  });

  it("leave the metrics one run leaves when late labels change old windows and remove a value", async () => {
    for (const store of [single, twice]) await insertFixture(store, late);
    await new Analyzer(single, options).analyzeChanges();
    await atOnce(twice, [(a) => a.analyzeChanges(), (a) => a.analyzeChanges()]);
    const once = await metrics(single);
    // The corrected labels replaced the cell: the run deleted the row that no longer exists.
    const tinyCells = once.filter((r) => r.model === "tiny" && r.metric === "confusion");
    // All traffic, and the segment of predictions without a region.
    expect(tinyCells.map((r) => [r.segment, r.subject, r.value])).toEqual([
      ["", "yes|yes", 2],
      ["region=", "yes|yes", 2],
    ]);
    expect(await metrics(twice)).toEqual(once);
  });

  it("leave the metrics one run leaves when a full recomputation meets an incremental run", async () => {
    const more = generateFixture({
      startMs: START + 30 * HOUR_MS,
      hours: 2,
      perHour: 10,
      priorShiftHour: 0,
      ageShiftHour: 0,
      labelRate: 0.7,
      seed: 18,
    });
    const renamed = {
      predictions: more.predictions.map((p) => ({ ...p, id: `n${p.id}` })),
      labels: more.labels.map((l) => ({ ...l, id: `n${l.id}` })),
    };
    for (const store of [single, twice]) await insertFixture(store, renamed);
    await new Analyzer(single, options).analyzeChanges();
    // `modelwatch analyze` (every window again) while the service's schedule runs.
    await atOnce(twice, [(a) => a.analyze(), (a) => a.analyzeChanges()]);
    expect(await metrics(twice)).toEqual(await metrics(single));
  });

  it("keep the newer run's values when an older run, computed from older data, writes after it", async () => {
    // The older run computes tiny's window from the labels "yes" and is held before it writes, as a slow
    // process would be; corrections arrive; a newer run computes from them and writes; then the older writes.
    const held = holdMetricWrites(twice);
    const older = new Analyzer(held.store, options).analyze({ models: ["tiny"] });
    await held.reached;
    for (const store of [single, twice])
      await insertFixture(store, { predictions: [], labels: tinyLabels("no") });
    await new Promise((r) => setTimeout(r, 5));
    await new Analyzer(twice, options).analyze({ models: ["tiny"] });
    held.release();
    await older;
    await new Analyzer(single, options).analyze({ models: ["tiny"] });
    const once = await metrics(single);
    const raced = await metrics(twice);
    // Every value is the newer run's. The older run's cell `yes|yes`, which the newer data no longer has,
    // stays until that window is computed again…
    const onceKeys = new Set(once.map((r) => JSON.stringify(r)));
    const racedKeys = new Set(raced.map((r) => JSON.stringify(r)));
    expect(once.filter((r) => !racedKeys.has(JSON.stringify(r)))).toEqual([]);
    expect(
      raced
        .filter((r) => !onceKeys.has(JSON.stringify(r)))
        .map((r) => [r.segment, r.metric, r.subject, r.value]),
    ).toEqual([
      ["", "confusion", "yes|yes", 2],
      ["region=", "confusion", "yes|yes", 2],
    ]);
    // …which the next scheduled run does: the corrections arrived after the older run's start, its watermark.
    await atOnce(twice, [(a) => a.analyzeChanges(), (a) => a.analyzeChanges()]);
    await new Analyzer(single, options).analyzeChanges();
    expect(await metrics(twice)).toEqual(await metrics(single));
  });
});

/**
 * The store itself, whose inserts into `metrics` wait until `release()`: `reached` resolves when the first
 * one is held.
 */
function holdMetricWrites(store: Store): { store: Store; reached: Promise<void>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let reachedGate!: () => void;
  const reached = new Promise<void>((resolve) => {
    reachedGate = resolve;
  });
  const forward = <T extends object>(target: T, override: Partial<Record<PropertyKey, unknown>>): T =>
    new Proxy(target, {
      get(t, prop) {
        if (prop in override) return override[prop];
        const value = Reflect.get(t, prop, t);
        return typeof value === "function" ? value.bind(t) : value;
      },
    });
  const client = forward(store.client, {
    insert: async (params: Parameters<Store["client"]["insert"]>[0]) => {
      if (params.table.endsWith(".metrics")) {
        reachedGate();
        await gate;
      }
      return store.client.insert(params);
    },
  });
  return { store: forward(store, { client }), reached, release };
}
