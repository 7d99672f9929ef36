import { type BinCount, PREDICTED_CLASS_KEY, type ReferenceBins } from "./sql/distributions.js";
import type { WindowCell } from "./sql/window-cells.js";

/**
 * The predicted class's bin counts of each window, from the window cells of all traffic, which already
 * count predictions by window and predicted class: binned as binCounts bins them (bin i is top[i-1], bin 0
 * "other"; predictions without a class are not counted). Reading the class column again in the binning
 * statement cost ~15 % of a day's binning (measured).
 */
export function classBinCounts(cells: readonly WindowCell[], top: readonly string[]): BinCount[] {
  const bins = new Map(top.map((c, i) => [c, i + 1]));
  const counts = new Map<number, Map<number, number>>();
  for (const c of cells) {
    if (c.segment !== "" || c.predicted === "") continue;
    const bin = bins.get(c.predicted) ?? 0;
    const window = counts.get(c.windowStartMs) ?? new Map<number, number>();
    window.set(bin, (window.get(bin) ?? 0) + c.count);
    counts.set(c.windowStartMs, window);
  }
  const out: BinCount[] = [];
  for (const [windowStartMs, window] of counts)
    for (const [bin, count] of window)
      if (count > 0) out.push({ windowStartMs, key: PREDICTED_CLASS_KEY, bin, count });
  return out;
}

/** `bins` without the predicted class: what is left for binCounts when the cells count the class. */
export function withoutPredictedClass(bins: ReferenceBins): ReferenceBins {
  return { edges: bins.edges, top: new Map([...bins.top].filter(([key]) => key !== PREDICTED_CLASS_KEY)) };
}
