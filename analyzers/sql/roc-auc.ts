import type { Store } from "../../store/index.js";
import { queryRows, type Scope, scopeParams } from "../scope.js";
import { type LabelledJoin, labelledPredictionsSql } from "./labelled.js";

export interface WindowAuc {
  windowStartMs: number;
  auc: number;
  positives: number;
  negatives: number;
}

/**
 * ROC AUC per window of a binary classifier: the score of the positive class (`class_scores[positive]`)
 * against whether the label is that class, over labelled predictions that carry the score. `arrayAUC`
 * counts tied scores as half, as scikit-learn's `roc_auc_score` does. Windows whose labels hold only one
 * class are left out (AUC is undefined there).
 */
export async function windowAuc(
  store: Store,
  scope: Scope,
  windowMs: number,
  positive: string,
  /** From labelledJoin, for this scope. */
  join: LabelledJoin,
): Promise<WindowAuc[]> {
  const rows = await queryRows<{ ws: number; auc: number; positives: number; negatives: number }>(
    store,
    `SELECT ws, arrayAUC(groupArray(score), groupArray(toUInt8(label_class = {positive:String}))) AS auc,
       countIf(label_class = {positive:String}) AS positives, count() - positives AS negatives
     FROM (
       SELECT ws, label_class, class_scores[{positive:String}] AS score
       FROM ${labelledPredictionsSql(store.database, "class_scores", join)}
       WHERE has_label = 1 AND label_class != '' AND mapContains(class_scores, {positive:String})
     )
     GROUP BY ws
     HAVING positives > 0 AND negatives > 0`,
    { ...scopeParams(scope, windowMs), ...join.params, positive },
    join.settings,
  );
  return rows.map((r) => ({
    windowStartMs: Number(r.ws),
    auc: r.auc,
    positives: Number(r.positives),
    negatives: Number(r.negatives),
  }));
}

/** Names a binary model's positive class: a conventional positive name, else the later one in sort order. */
export function positiveClass(classes: readonly string[]): string | undefined {
  if (classes.length !== 2) return undefined;
  const conventional = classes.find((c) => ["1", "true", "yes", "positive", "pos"].includes(c.toLowerCase()));
  return conventional ?? [...classes].sort()[1];
}
