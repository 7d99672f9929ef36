import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Analyzer, DEFAULT_ANALYSIS } from "../../analyzers/index.js";
import { windowsChangedSince } from "../../analyzers/sql/changed-windows.js";
import { HOUR_MS, sendLines } from "../helpers/fixtures.js";
import { startTestService, type TestService } from "../helpers/service.js";

const DAY_MS = 24 * HOUR_MS;
const DAY0 = Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS;
const hour = (h: number) => DAY0 + h * HOUR_MS;

const prediction = (id: string, at: number, cls: string, model = "placed") =>
  JSON.stringify({
    event: "ml.prediction",
    time: at,
    "ml.model.name": model,
    "ml.model.version": "v1",
    "ml.prediction.id": id,
    "ml.prediction.class": cls,
  });
const label = (id: string, cls: string) =>
  JSON.stringify({
    event: "ml.label",
    "ml.model.name": "placed",
    "ml.prediction.id": id,
    "ml.label.class": cls,
  });

let service: TestService;
let analyzer: Analyzer;
beforeAll(async () => {
  service = await startTestService();
  analyzer = new Analyzer(service.store, { ...DEFAULT_ANALYSIS, lateVisibilityMs: 0 });
});
afterAll(async () => {
  await service?.stop();
});

async function send(lines: string[]): Promise<void> {
  await sendLines(service.url, lines);
  await service.flushed();
}

const accuracyAt = async (h: number, model = "placed") => {
  const rows = await service.rows<{ value: number; sample_size: number }>(
    `SELECT value, sample_size FROM modelwatch.metrics FINAL
     WHERE model = {model:String} AND metric = 'accuracy' AND window_start = fromUnixTimestamp64Milli({ws:Int64}, 'UTC')`,
    { ws: hour(h), model },
  );
  return rows[0];
};

describe("labels, whenever they come", () => {
  it("counts a label that overtook its prediction once the prediction arrives, in a later run", async () => {
    await send([prediction("a", hour(1), "cat"), prediction("b", hour(1) + 1, "dog"), label("a", "cat")]);
    await analyzer.analyzeChanges();
    expect(await accuracyAt(1)).toEqual({ value: 1, sample_size: 1 });

    // The label of "c" comes first; the run after it has no prediction to count it with.
    await send([label("c", "dog")]);
    await analyzer.analyzeChanges();
    expect(await accuracyAt(2)).toBeUndefined();

    // Then "c" itself, in hour 2: the next run computes hour 2 with the label that waited.
    await send([prediction("c", hour(2), "cat")]);
    const report = await analyzer.analyzeChanges();
    expect(report.windows).toBe(1);
    // c: predicted cat, labelled dog → 0 of 1 right.
    expect(await accuracyAt(2)).toEqual({ value: 0, sample_size: 1 });
    // Hour 1 is as it was.
    expect(await accuracyAt(1)).toEqual({ value: 1, sample_size: 1 });
  });

  it("lets a correction replace the label it corrects, recomputing only its prediction's window", async () => {
    await send([label("b", "dog")]);
    let report = await analyzer.analyzeChanges();
    expect(report.windows).toBe(1);
    // a: cat→cat ✓, b: dog→dog ✓.
    expect(await accuracyAt(1)).toEqual({ value: 1, sample_size: 2 });

    await send([label("b", "cat")]);
    report = await analyzer.analyzeChanges();
    expect(report.windows).toBe(1);
    // b corrected to cat: dog→cat ✗.
    expect(await accuracyAt(1)).toEqual({ value: 0.5, sample_size: 2 });
    expect(await accuracyAt(2)).toEqual({ value: 0, sample_size: 1 });
  });

  it("counts a late label for its own model's prediction only, where another model's has the same id", async () => {
    await send([prediction("s", hour(5), "cat"), prediction("s", hour(6), "dog", "twin")]);
    await analyzer.analyzeChanges();
    await send([label("s", "cat")]);
    await analyzer.analyzeChanges();
    expect(await accuracyAt(5)).toEqual({ value: 1, sample_size: 1 });
    // The twin's prediction has the same id but another model: the label is not its.
    expect(await accuracyAt(6, "twin")).toBeUndefined();
    const twinCount = await service.rows<{ value: number }>(
      `SELECT value FROM modelwatch.metrics FINAL WHERE model = 'twin' AND metric = 'labelled_count'`,
    );
    expect(twinCount).toEqual([{ value: 0 }]);
  });

  it("finds the windows of late labels for more models than get an id range each", async () => {
    // Past 100 models, the predictions are searched within one range of ids for all of them.
    const models = Array.from({ length: 101 }, (_, i) => `many-${i}`);
    await send(models.map((m, i) => prediction(`id-${i}`, hour(8) + i, "cat", m)));
    await new Promise((r) => setTimeout(r, 20));
    const since = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await send(
      models.map((m, i) =>
        JSON.stringify({
          event: "ml.label",
          "ml.model.name": m,
          "ml.prediction.id": `id-${i}`,
          "ml.label.class": "cat",
        }),
      ),
    );
    const changed = await windowsChangedSince(service.store, HOUR_MS, since, []);
    expect(changed.map((s) => [s.model, s.windowStartsMs]).sort()).toEqual(
      models.map((m) => [m, [hour(8)]]).sort(),
    );
  });

  it("gives an analysis of a range asked for the labels stored since the last run", async () => {
    const other = new Analyzer(service.store, { ...DEFAULT_ANALYSIS, lateVisibilityMs: 0 });
    await send([prediction("d", hour(2) + 5, "dog"), label("d", "dog")]);
    await other.analyze({ models: ["placed"], fromMs: hour(2), toMs: hour(3) });
    // c ✗, d ✓.
    expect(await accuracyAt(2)).toEqual({ value: 0.5, sample_size: 2 });
  });
});
