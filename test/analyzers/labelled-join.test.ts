import { describe, expect, it } from "vitest";
import { labelledJoin } from "../../analyzers/sql/labelled.js";
import { scopeFacts } from "../../analyzers/sql/scope-facts.js";
import { windowCells } from "../../analyzers/sql/window-cells.js";
import { type Label, labelsRowBinary, type Prediction, PredictionRows } from "../../store/index.js";
import { emptyPrediction } from "../helpers/rows.js";
import { migratedStoreForFile } from "../helpers/store.js";

const { store } = migratedStoreForFile();

const HOUR = 3_600_000;
const H = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR;

const prediction = (id: string, timeMs: number, predictedClass: string): Prediction =>
  emptyPrediction({ timeMs, model: "m", predictionId: id, predictedClass });

const label = (predictionId: string, labelClass: string): Label => ({
  timeMs: H + HOUR,
  model: "m",
  predictionId,
  labelClass,
  labelValue: null,
});

describe("the labelled join of a small scope", () => {
  it("narrows the labels to the scope's ids alike with the range read beforehand and with its own", async () => {
    // The scoped hour's ids sit between ids of the hours around it, whose labels the narrowing must leave out.
    const id = (n: number) => `p-${String(n).padStart(4, "0")}`;
    const scoped = Array.from({ length: 40 }, (_, i) =>
      prediction(id(100 + i * 2), H + i * 1000, "ab"[i % 2] as string),
    );
    const around = [
      ...Array.from({ length: 30 }, (_, i) => prediction(id(i), H - HOUR + i, "a")),
      ...Array.from({ length: 30 }, (_, i) => prediction(id(101 + i * 2), H - HOUR + 100 + i, "b")),
      ...Array.from({ length: 30 }, (_, i) => prediction(id(500 + i), H + HOUR + i, "a")),
    ];
    const rows = new PredictionRows();
    for (const p of [...scoped, ...around]) rows.add(p);
    await store().insertRows("predictions", rows.bytes());
    // Every other scoped prediction is labelled (the first class "a" for every third of those); every one
    // around it too, with class "b".
    const first = scoped
      .filter((_, i) => i % 2 === 0)
      .map((p, i) => label(p.predictionId, i % 3 === 0 ? "a" : "b"));
    await store().insertRows(
      "labels",
      labelsRowBinary([...first, ...around.map((p) => label(p.predictionId, "b"))]),
    );
    // A correction, stored later: the newest label of a prediction wins.
    const corrected = first[1] as Label;
    await store().insertRows("labels", labelsRowBinary([{ ...corrected, labelClass: "c" }]));

    const labelOf = new Map(first.map((l) => [l.predictionId, l.labelClass]));
    labelOf.set(corrected.predictionId, "c");
    const expected = new Map<string, number>();
    for (const p of scoped) {
      const key = `${p.predictedClass}|${labelOf.get(p.predictionId) ?? "-"}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }

    const scope = { model: "m", modelVersion: "v1", windowStartsMs: [H] };
    const facts = await scopeFacts(store(), scope, HOUR);
    expect(facts.predictions).toBe(scoped.length);
    expect(facts.idRange).toEqual({ lo: id(100), hi: id(178) });
    // As many labels as an incremental run's hour has against its model's history: the join narrows.
    const narrowing = { predictions: scoped.length, labels: scoped.length * 8 };
    const joins = {
      "whole labels": labelledJoin({ predictions: scoped.length, labels: facts.labels }),
      "narrowed by its own range": labelledJoin(narrowing),
      "narrowed by the facts' range": labelledJoin({ ...narrowing, idRange: facts.idRange }),
    };
    expect(joins["whole labels"].narrowLabels).toBe(false);
    expect(joins["narrowed by its own range"].params).toEqual({});
    expect(joins["narrowed by the facts' range"].params).toEqual({ id_lo: id(100), id_hi: id(178) });
    for (const [name, join] of Object.entries(joins)) {
      const cells = await windowCells(store(), scope, HOUR, join);
      const got = new Map(cells.map((c) => [`${c.predicted}|${c.hasLabel ? c.actual : "-"}`, c.count]));
      expect(got, name).toEqual(expected);
    }
  });
});
