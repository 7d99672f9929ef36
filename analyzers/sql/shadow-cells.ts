import type { Store } from "../../store/index.js";
import { emptyRegressionSums, type RegressionSums } from "../math/index.js";
import { IN_SCOPE_SQL, queryRows, type Scope, scopeParams } from "../scope.js";
import { DECILES } from "./distributions.js";
import { type LabelledJoin, labelledPredictionsSql } from "./labelled.js";

/** How many predictions of a window a candidate answered, by both sides' classes and the label's. */
export interface ShadowCell {
  /** The production prediction's class ("" for a value output). */
  predicted: string;
  /** The candidate's class ("" for a value output). */
  candidateClass: string;
  hasLabel: boolean;
  /** The label's class ("" when unlabelled or a value label). */
  actual: string;
  count: number;
}

/** Both sides' values, over the predictions where both gave one. */
export interface ShadowValues {
  pairs: number;
  /** Σ |candidate − production| */
  sumAbsDifference: number;
  /**
   * Counts of each side in the same bins: cut at the deciles of the production values (`quantilesExact`, the
   * value at sorted index ⌊level·n⌋, repeated edges merged); bin i holds edges[i−1] ≤ x < edges[i], the outer
   * bins open. Empty when there are no pairs.
   */
  productionBins: number[];
  candidateBins: number[];
  /** Over the pairs with a label value; error = value − label. */
  production: RegressionSums;
  candidate: RegressionSums;
}

/** What one candidate answered in one window, gathered as counts and sums. */
export interface ShadowWindow {
  windowStartMs: number;
  candidate: string;
  /** Predictions the candidate answered: every count and sum here is over them only. */
  count: number;
  sumLatencyMs: number;
  cells: ShadowCell[];
  values: ShadowValues;
}

interface ShadowRow {
  ws: number;
  candidate: string;
  answered: number;
  latency_sum: number;
  cell_predicted: string[];
  cell_candidate: string[];
  cell_has_label: number[];
  cell_actual: string[];
  cell_count: number[];
  pairs: number;
  abs_difference_sum: number;
  production_sums: number[];
  candidate_sums: number[];
  production_bins: number[];
  candidate_bins: number[];
}

/**
 * A row's contribution to RegressionSums of `value` against the label value `lv`, in the interface's field
 * order; summed element-wise (sumForEach) so the six sums travel as one column through both groupings.
 */
const errorTerms = (value: string) =>
  `[1, ${value} - lv, abs(${value} - lv), (${value} - lv) * (${value} - lv), lv != 0,
    if(lv != 0, abs(${value} - lv) / abs(lv), 0)]`;

/** Counts of `values` in the bins `edges` cut: those below each edge, differenced, and the rest. */
const binCountsSql = (values: string) =>
  `arrayPopFront(arrayDifference(arrayConcat([0], arrayMap(e -> arrayCount(x -> x < e, ${values}), edges),
    [length(${values})])))`;

/**
 * One pass over a scope's predictions that candidates answered (`shadow_predictions` FINAL, so the latest
 * run's answers), joined to their labels: per window and candidate, the class cells, the value pairs' sums
 * and bins. The inner grouping makes the cells (few, and cheap to group by); the outer one gathers a
 * window's cells and computes the bins, whose edges depend on all of its values. Predictions a candidate
 * did not answer are not counted. `join`: from labelledJoin, for this scope. Most model versions have no
 * candidate: callers look first (ScopeFacts.shadowed) and save those the join.
 */
export async function shadowWindows(
  store: Store,
  scope: Scope,
  windowMs: number,
  join: LabelledJoin,
): Promise<ShadowWindow[]> {
  const db = store.database;
  const params = { ...scopeParams(scope, windowMs), ...join.params };
  const rows = await queryRows<ShadowRow>(
    store,
    `WITH groupArrayArray(pvs) AS production_values, groupArrayArray(cvs) AS candidate_values,
       arrayDistinct(quantilesExactArray(${DECILES.join(", ")})(pvs)) AS edges
     SELECT ws, candidate, sum(n) AS answered, sum(latency) AS latency_sum,
       groupArray(predicted) AS cell_predicted, groupArray(candidate_class) AS cell_candidate,
       groupArray(has_label) AS cell_has_label, groupArray(actual) AS cell_actual, groupArray(n) AS cell_count,
       sum(paired) AS pairs, sum(abs_difference) AS abs_difference_sum,
       sumForEach(production_terms) AS production_sums, sumForEach(candidate_terms) AS candidate_sums,
       if(pairs = 0, [], ${binCountsSql("production_values")}) AS production_bins,
       if(pairs = 0, [], ${binCountsSql("candidate_values")}) AS candidate_bins
     FROM (
       SELECT ws, candidate, predicted_class AS predicted, candidate_class, has_label, label_class AS actual,
         count() AS n, sum(latency_ms) AS latency,
         countIf(pair) AS paired, sumIf(abs(cv - pv), pair) AS abs_difference,
         groupArrayIf(pv, pair) AS pvs, groupArrayIf(cv, pair) AS cvs,
         sumForEachIf(${errorTerms("pv")}, reg) AS production_terms,
         sumForEachIf(${errorTerms("cv")}, reg) AS candidate_terms
       FROM (
         SELECT ws, candidate, predicted_class, candidate_class, has_label, label_class, latency_ms,
           isNotNull(predicted_value) AND isNotNull(candidate_value) AS pair,
           pair AND has_label = 1 AND isNotNull(label_value) AS reg,
           assumeNotNull(predicted_value) AS pv, assumeNotNull(candidate_value) AS cv,
           assumeNotNull(label_value) AS lv
         FROM ${labelledPredictionsSql(db, "predicted_class, predicted_value", join)}
         INNER JOIN (
           SELECT prediction_id, candidate, candidate_class, candidate_value, latency_ms
           FROM ${db}.shadow_predictions FINAL WHERE ${IN_SCOPE_SQL}
         ) AS s USING (prediction_id)
       )
       GROUP BY ws, candidate, predicted, candidate_class, has_label, actual
     )
     GROUP BY ws, candidate
     ORDER BY ws, candidate`,
    params,
    join.settings,
  );
  return rows.map((r) => ({
    windowStartMs: Number(r.ws),
    candidate: r.candidate,
    count: Number(r.answered),
    sumLatencyMs: r.latency_sum,
    cells: r.cell_predicted.map((predicted, i) => ({
      predicted,
      candidateClass: r.cell_candidate[i] ?? "",
      hasLabel: Number(r.cell_has_label[i]) === 1,
      actual: r.cell_actual[i] ?? "",
      count: Number(r.cell_count[i] ?? 0),
    })),
    values: {
      pairs: Number(r.pairs),
      sumAbsDifference: r.abs_difference_sum,
      productionBins: r.production_bins.map(Number),
      candidateBins: r.candidate_bins.map(Number),
      production: regressionSums(r.production_sums),
      candidate: regressionSums(r.candidate_sums),
    },
  }));
}

/** The sums errorTerms lists, back as fields; none when no pair had a label value. */
function regressionSums(terms: readonly number[]): RegressionSums {
  if (terms.length === 0) return emptyRegressionSums();
  const [
    n = 0,
    sumError = 0,
    sumAbsError = 0,
    sumSquaredError = 0,
    nonZeroTargets = 0,
    sumAbsPercentError = 0,
  ] = terms;
  return { n, sumError, sumAbsError, sumSquaredError, nonZeroTargets, sumAbsPercentError };
}
