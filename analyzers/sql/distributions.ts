/**
 * What is binned for drift, by key: `n:<feature>` (numeric feature), `c:<feature>` (categorical feature),
 * `p:value` (predicted value) and `p:class` (predicted class).
 */
export interface ReferenceBins {
  /** Numeric keys: the reference's deciles, distinct, ascending. Bin i holds edges[i-1] <= x < edges[i]. */
  edges: Map<string, number[]>;
  /** Categorical keys: the reference's most frequent values. Bin i (1-based) is top[i-1]; bin 0 is "other". */
  top: Map<string, string[]>;
}

/** The key of the predicted class. */
export const PREDICTED_CLASS_KEY = "p:class";

export interface BinCount {
  windowStartMs: number;
  key: string;
  bin: number;
  count: number;
}

/** The deciles that cut numeric values into 10 bins; the outer bins are open. */
export const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
