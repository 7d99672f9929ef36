import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binCounts } from "../../analyzers/sql/bin-counts.js";
import { numericLayouts } from "../../analyzers/sql/feature-layouts.js";
import { referenceBins } from "../../analyzers/sql/reference-bins.js";
import { HOUR_MS, random, sendLines } from "../helpers/fixtures.js";
import { startTestService, type TestService } from "../helpers/service.js";

// Drift bins read a feature by its position in the row's map when the scope's rows share a few orderings of
// feature names, and by name otherwise. Both must count exactly what was sent: rows with the features in
// other orders, rows lacking one, and (for the second model) more orderings than the positional path takes.

const WINDOW = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 5 * HOUR_MS;
const NAMES = ["a", "b", "c", "d", "e"];
let service: TestService;
/** What was sent, by model: each row's features. */
const sent = new Map<string, Array<Record<string, number>>>();

beforeAll(async () => {
  service = await startTestService();
  const rand = random(3);
  const lines: string[] = [];
  const send = (model: string, features: Array<[string, number]>, i: number) => {
    const rows = sent.get(model) ?? [];
    rows.push(Object.fromEntries(features));
    sent.set(model, rows);
    lines.push(
      JSON.stringify({
        event: "ml.prediction",
        time: WINDOW + i * 1000,
        "ml.model.name": model,
        "ml.prediction.id": `${model}-${i}`,
        "ml.prediction.class": "k",
        ...Object.fromEntries(features.map(([k, v]) => [`ml.feature.${k}`, v])),
      }),
    );
  };
  for (let i = 0; i < 2000; i++) {
    const values = NAMES.map((n) => [n, Math.round(rand() * 1000) / 10] as [string, number]);
    // "few": three orderings, and now and then a row without "c".
    const few =
      i % 3 === 0
        ? values
        : i % 3 === 1
          ? [...values].reverse()
          : [values[2], values[0], values[4], values[1], values[3]];
    send(
      "few",
      (few as Array<[string, number]>).filter(([k]) => !(k === "c" && i % 7 === 0)),
      i,
    );
    // "many": rotated by i % 5 and sometimes lacking one name: more orderings than the positional path takes.
    const rotated = [...values.slice(i % 5), ...values.slice(0, i % 5)];
    send(
      "many",
      rotated.filter((_, j) => !(i % 11 === 0 && j === i % 4)),
      i,
    );
  }
  await sendLines(service.url, lines);
  await service.flushed();
});
afterAll(async () => {
  await service?.stop();
});

describe("drift bins", () => {
  // A scope of one window, and one of three (the sent window and empty windows on either side): counted by
  // window, each count must land in the window its rows are in.
  const shapes = { "one window": [WINDOW], "three windows": [WINDOW - HOUR_MS, WINDOW, WINDOW + HOUR_MS] };
  for (const [shape, windowStartsMs] of Object.entries(shapes))
    for (const model of ["few", "many"]) {
      it(`count every feature's values exactly (${model} orderings, ${shape})`, async () => {
        const scope = { model, modelVersion: "", windowStartsMs };
        const layouts = await numericLayouts(service.store, scope, HOUR_MS);
        const bins = await referenceBins(service.store, scope, HOUR_MS, 20, layouts);
        const counts = await binCounts(service.store, scope, HOUR_MS, bins, layouts);
        expect(new Set(counts.map((c) => c.windowStartMs))).toEqual(new Set([WINDOW]));
        const rows = sent.get(model) ?? [];
        // Every row has the one predicted class, the first of the top values: bin 1.
        expect(counts.filter((c) => c.key === "p:class").map((c) => [c.bin, c.count])).toEqual([
          [1, rows.length],
        ]);
        for (const name of NAMES) {
          const edges = bins.edges.get(`n:${name}`) as number[];
          expect(edges.length, name).toBeGreaterThan(5);
          // The reference's deciles: the value at sorted index ⌊level·n⌋, repeats merged.
          const sorted = rows
            .flatMap((r) => (r[name] === undefined ? [] : [r[name] as number]))
            .sort((a, b) => a - b);
          const deciles = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map(
            (level) => sorted[Math.floor(level * sorted.length)] as number,
          );
          expect(edges, name).toEqual([...new Set(deciles)]);
          // Bin i holds edges[i-1] <= x < edges[i], counted here from the values sent.
          const expected = new Map<number, number>();
          for (const r of rows) {
            const x = r[name];
            if (x === undefined) continue;
            const bin = edges.filter((e) => x >= e).length;
            expected.set(bin, (expected.get(bin) ?? 0) + 1);
          }
          const got = new Map(counts.filter((c) => c.key === `n:${name}`).map((c) => [c.bin, c.count]));
          expect(got, name).toEqual(expected);
        }
      });
    }

  it("come back empty for a scope without predictions, and skip a feature no row has", async () => {
    const scope = { model: "few", modelVersion: "", windowStartsMs: [WINDOW] };
    const bins = await referenceBins(
      service.store,
      scope,
      HOUR_MS,
      20,
      await numericLayouts(service.store, scope, HOUR_MS),
    );
    bins.edges.set("n:nowhere", [1, 2, 3]);
    const layouts = await numericLayouts(service.store, scope, HOUR_MS);
    const counts = await binCounts(service.store, scope, HOUR_MS, bins, layouts);
    expect(counts.some((c) => c.key === "n:nowhere")).toBe(false);
    expect(counts.some((c) => c.key === "n:a")).toBe(true);
    const empty = { ...scope, windowStartsMs: [WINDOW + 10 * HOUR_MS] };
    expect(
      await binCounts(
        service.store,
        empty,
        HOUR_MS,
        bins,
        await numericLayouts(service.store, empty, HOUR_MS),
      ),
    ).toEqual([]);
  });
});
