import { mean } from "simple-statistics";

/** How many labelled predictions said `predicted` when the label was `actual`. */
export interface ConfusionCell {
  predicted: string;
  actual: string;
  count: number;
}

export interface ClassScores {
  cls: string;
  precision: number;
  recall: number;
  f1: number;
  /** labels of this class */
  support: number;
  /** predictions of this class (labelled only) */
  predicted: number;
}

export interface ClassificationMetrics {
  /** sum of counts */
  labelled: number;
  accuracy: number;
  /** sorted by cls */
  perClass: ClassScores[];
  macro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
}

interface Tally {
  tp: number;
  support: number;
  predicted: number;
}

/**
 * Accuracy, per-class and averaged precision/recall/F1 of a confusion matrix given as cells; cells with the
 * same (predicted, actual) may repeat and are summed.
 *
 * Matches scikit-learn's `precision_recall_fscore_support(y_true, y_pred, zero_division=0)` with
 * `labels` = the sorted union of predicted and actual classes: precision = tp/(tp+fp), 0 for a class never
 * predicted; recall = tp/(tp+fn), 0 for a class never in the labels (support 0, still counted in macro);
 * f1 = 2pr/(p+r), 0 when p+r = 0. Macro is the unweighted mean over the union's classes, weighted the mean
 * weighted by support; accuracy = Σ diagonal / labelled. Classes are sorted in JavaScript's default
 * (UTF-16 code unit) order, not by locale.
 *
 * @returns undefined when there are no labelled predictions (no cells, or every count 0).
 * @throws RangeError when a count is negative or not finite.
 */
export function classificationMetrics(cells: readonly ConfusionCell[]): ClassificationMetrics | undefined {
  const tallies = new Map<string, Tally>();
  let labelled = 0;
  let correct = 0;
  for (const c of cells) {
    if (!Number.isFinite(c.count) || c.count < 0)
      throw new RangeError(`confusion cell ${c.predicted}|${c.actual} has count ${c.count}; counts are ≥ 0`);
    // scikit-learn learns its labels from the samples: a class seen only in empty cells is not one of them.
    if (c.count === 0) continue;
    labelled += c.count;
    tallyOf(tallies, c.predicted).predicted += c.count;
    const actual = tallyOf(tallies, c.actual);
    actual.support += c.count;
    if (c.predicted === c.actual) {
      actual.tp += c.count;
      correct += c.count;
    }
  }
  if (labelled === 0) return undefined;

  const perClass = [...tallies.keys()].sort().map((cls) => scoresOf(cls, tallies.get(cls)!));
  return {
    labelled,
    accuracy: correct / labelled,
    perClass,
    macro: {
      precision: mean(perClass.map((k) => k.precision)),
      recall: mean(perClass.map((k) => k.recall)),
      f1: mean(perClass.map((k) => k.f1)),
    },
    weighted: {
      precision: supportWeighted(perClass, (k) => k.precision),
      recall: supportWeighted(perClass, (k) => k.recall),
      f1: supportWeighted(perClass, (k) => k.f1),
    },
  };
}

function tallyOf(tallies: Map<string, Tally>, cls: string): Tally {
  let t = tallies.get(cls);
  if (!t) {
    t = { tp: 0, support: 0, predicted: 0 };
    tallies.set(cls, t);
  }
  return t;
}

function scoresOf(cls: string, t: Tally): ClassScores {
  return {
    cls,
    precision: t.predicted > 0 ? t.tp / t.predicted : 0,
    recall: t.support > 0 ? t.tp / t.support : 0,
    // 2pr/(p+r) rewritten on counts, as scikit-learn computes it: fewer roundings, and 0 when tp = 0.
    f1: t.support + t.predicted > 0 ? (2 * t.tp) / (t.support + t.predicted) : 0,
    support: t.support,
    predicted: t.predicted,
  };
}

function supportWeighted(perClass: readonly ClassScores[], score: (k: ClassScores) => number): number {
  let weights = 0;
  let sum = 0;
  for (const k of perClass) {
    weights += k.support;
    sum += k.support * score(k);
  }
  // zero_division=0; unreachable once something is labelled, since every label is some class's support.
  return weights > 0 ? sum / weights : 0;
}
