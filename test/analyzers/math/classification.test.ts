import { describe, expect, it } from "vitest";
import {
  type ClassScores,
  type ConfusionCell,
  classificationMetrics,
} from "../../../analyzers/math/index.js";

const cell = (predicted: string, actual: string, count: number): ConfusionCell => ({
  predicted,
  actual,
  count,
});

interface Expected {
  accuracy: number;
  perClass: ClassScores[];
  macro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
}

function expectMetrics(cells: readonly ConfusionCell[], labelled: number, want: Expected): void {
  const got = classificationMetrics(cells);
  if (!got) throw new Error("expected metrics, got undefined");
  expect(got.labelled).toBe(labelled);
  expect(got.accuracy).toBeCloseTo(want.accuracy, 12);
  expect(got.perClass.map((k) => k.cls)).toEqual(want.perClass.map((k) => k.cls));
  want.perClass.forEach((w, i) => {
    const k = got.perClass[i]!;
    expect(k.support).toBe(w.support);
    expect(k.predicted).toBe(w.predicted);
    expect(k.precision).toBeCloseTo(w.precision, 12);
    expect(k.recall).toBeCloseTo(w.recall, 12);
    expect(k.f1).toBeCloseTo(w.f1, 12);
  });
  for (const avg of ["macro", "weighted"] as const)
    for (const s of ["precision", "recall", "f1"] as const) expect(got[avg][s]).toBeCloseTo(want[avg][s], 12);
}

/*
 * A 3-class confusion matrix, rows = actual, columns = predicted:
 *
 *              pred cat  pred dog  pred fox | support
 *   cat            5         2         1    |    8
 *   dog            1         3         0    |    4
 *   fox            2         0         6    |    8
 *   predicted      8         5         7    |   20
 *
 * accuracy = (5+3+6)/20 = 14/20 = 0.7
 * cat: tp=5 fp=3 fn=3 → precision 5/8, recall 5/8, f1 = 2·5/(8+8) = 10/16 = 0.625
 * dog: tp=3 fp=2 fn=1 → precision 3/5, recall 3/4, f1 = 2·3/(5+4) = 6/9 = 2/3
 * fox: tp=6 fp=1 fn=2 → precision 6/7, recall 6/8, f1 = 2·6/(7+8) = 12/15 = 0.8
 * macro precision = (5/8 + 3/5 + 6/7)/3 = (175 + 168 + 240)/280/3 = 583/840 ≈ 0.694048
 * macro recall    = (5/8 + 3/4 + 3/4)/3 = (5/8 + 6/8 + 6/8)/3 = 17/24 ≈ 0.708333
 * macro f1        = (5/8 + 2/3 + 4/5)/3 = (75 + 80 + 96)/120/3 = 251/360 ≈ 0.697222
 * weighted precision = (8·5/8 + 4·3/5 + 8·6/7)/20 = (5 + 12/5 + 48/7)/20 = (175+84+240)/35/20 = 499/700
 * weighted recall    = (8·5/8 + 4·3/4 + 8·6/8)/20 = (5 + 3 + 6)/20 = 0.7 (always equals accuracy)
 * weighted f1        = (8·5/8 + 4·2/3 + 8·4/5)/20 = (75 + 40 + 96)/15/20 = 211/300 ≈ 0.703333
 */
const threeClasses: ConfusionCell[] = [
  cell("fox", "fox", 6),
  cell("dog", "cat", 2),
  cell("cat", "cat", 3),
  cell("cat", "dog", 1),
  cell("fox", "cat", 1),
  cell("dog", "dog", 3),
  cell("cat", "fox", 2),
  cell("cat", "cat", 2), // repeats (cat, cat): 3 + 2 = 5
  cell("dog", "fox", 0), // an empty cell changes nothing
];

describe("classificationMetrics", () => {
  it("scores a 3-class confusion matrix worked out by hand, summing repeated cells", () => {
    expectMetrics(threeClasses, 20, {
      accuracy: 14 / 20,
      perClass: [
        { cls: "cat", precision: 5 / 8, recall: 5 / 8, f1: 10 / 16, support: 8, predicted: 8 },
        { cls: "dog", precision: 3 / 5, recall: 3 / 4, f1: 6 / 9, support: 4, predicted: 5 },
        { cls: "fox", precision: 6 / 7, recall: 6 / 8, f1: 12 / 15, support: 8, predicted: 7 },
      ],
      macro: { precision: 583 / 840, recall: 17 / 24, f1: 251 / 360 },
      weighted: { precision: 499 / 700, recall: 14 / 20, f1: 211 / 300 },
    });
  });

  it.each<{ name: string; cells: ConfusionCell[]; labelled: number; want: Expected }>([
    {
      // labels a,a,b predicted a,a,a
      name: "a class never predicted has precision 0 (zero_division=0)",
      cells: [cell("a", "a", 2), cell("a", "b", 1)],
      labelled: 3,
      want: {
        accuracy: 2 / 3, // 2 of 3 on the diagonal
        perClass: [
          // a: tp=2 fp=1 fn=0 → precision 2/3, recall 2/2 = 1, f1 = 2·2/(3+2) = 4/5
          { cls: "a", precision: 2 / 3, recall: 1, f1: 4 / 5, support: 2, predicted: 3 },
          // b: tp=0, never predicted → precision 0/0 → 0; recall 0/1 = 0; f1 0
          { cls: "b", precision: 0, recall: 0, f1: 0, support: 1, predicted: 0 },
        ],
        // (2/3 + 0)/2 = 1/3; (1 + 0)/2 = 1/2; (4/5 + 0)/2 = 2/5
        macro: { precision: 1 / 3, recall: 1 / 2, f1: 2 / 5 },
        // (2·2/3 + 1·0)/3 = 4/9; (2·1 + 0)/3 = 2/3; (2·4/5 + 0)/3 = 8/15
        weighted: { precision: 4 / 9, recall: 2 / 3, f1: 8 / 15 },
      },
    },
    {
      // labels a,a,a,a predicted a,a,a,c
      name: "a class never in the labels has recall 0 and support 0 but still counts in macro",
      cells: [cell("a", "a", 3), cell("c", "a", 1)],
      labelled: 4,
      want: {
        accuracy: 3 / 4,
        perClass: [
          // a: tp=3 fp=0 fn=1 → precision 3/3 = 1, recall 3/4, f1 = 2·3/(3+4) = 6/7
          { cls: "a", precision: 1, recall: 3 / 4, f1: 6 / 7, support: 4, predicted: 3 },
          // c: tp=0 fp=1, no labels → precision 0/1 = 0, recall 0/0 → 0, f1 = 0/(0+1) = 0
          { cls: "c", precision: 0, recall: 0, f1: 0, support: 0, predicted: 1 },
        ],
        // (1 + 0)/2 = 1/2; (3/4 + 0)/2 = 3/8; (6/7 + 0)/2 = 3/7
        macro: { precision: 1 / 2, recall: 3 / 8, f1: 3 / 7 },
        // c has weight 0: (4·1)/4 = 1; (4·3/4)/4 = 3/4; (4·6/7)/4 = 6/7
        weighted: { precision: 1, recall: 3 / 4, f1: 6 / 7 },
      },
    },
    {
      name: "a single correct prediction scores 1 everywhere",
      cells: [cell("x", "x", 1)],
      labelled: 1,
      want: {
        accuracy: 1, // 1/1
        perClass: [{ cls: "x", precision: 1, recall: 1, f1: 1, support: 1, predicted: 1 }], // tp=1 fp=0 fn=0
        macro: { precision: 1, recall: 1, f1: 1 },
        weighted: { precision: 1, recall: 1, f1: 1 },
      },
    },
    {
      name: "a single wrong prediction scores 0 everywhere, over both classes",
      cells: [cell("x", "y", 1)],
      labelled: 1,
      want: {
        accuracy: 0, // 0/1
        perClass: [
          { cls: "x", precision: 0, recall: 0, f1: 0, support: 0, predicted: 1 }, // tp=0 fp=1 → 0/1; no labels → 0
          { cls: "y", precision: 0, recall: 0, f1: 0, support: 1, predicted: 0 }, // never predicted → 0; 0/1
        ],
        macro: { precision: 0, recall: 0, f1: 0 },
        weighted: { precision: 0, recall: 0, f1: 0 },
      },
    },
    {
      // only the count-bearing cell says which classes exist: "ghost" appears in an empty cell only
      name: "a class seen only in empty cells is not a class",
      cells: [cell("ghost", "a", 0), cell("a", "a", 2), cell("a", "ghost", 0)],
      labelled: 2,
      want: {
        accuracy: 1, // 2/2
        perClass: [{ cls: "a", precision: 1, recall: 1, f1: 1, support: 2, predicted: 2 }], // tp=2 fp=0 fn=0
        macro: { precision: 1, recall: 1, f1: 1 }, // one class, not (1 + 0)/2
        weighted: { precision: 1, recall: 1, f1: 1 },
      },
    },
  ])("$name", ({ cells, labelled, want }) => {
    expectMetrics(cells, labelled, want);
  });

  it("sorts classes by name whatever the order of the cells", () => {
    const got = classificationMetrics([cell("b", "c", 1), cell("a", "b", 1), cell("c", "a", 1)]);
    expect(got?.perClass.map((k) => k.cls)).toEqual(["a", "b", "c"]);
  });

  it.each<{ name: string; cells: ConfusionCell[] }>([
    { name: "no cells", cells: [] },
    { name: "only empty cells", cells: [cell("a", "a", 0), cell("a", "b", 0)] },
  ])("has nothing to say with $name", ({ cells }) => {
    expect(classificationMetrics(cells)).toBeUndefined();
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])("rejects a count of %d", (count) => {
    expect(() => classificationMetrics([cell("a", "a", 1), cell("a", "b", count)])).toThrow(RangeError);
  });
});
