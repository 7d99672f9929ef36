-- A shadow candidate against production on the same predictions: how often they agree, and each side's
-- accuracy where labels exist (the latest label of each prediction).
--   modelwatch sql "$(cat dashboards/queries/shadow-vs-production.sql)" --param candidate=churn-v8
SELECT
  s.model AS model,
  s.candidate AS candidate,
  count() AS answered,
  round(avg(s.candidate_class = p.predicted_class), 4) AS agreement,
  countIf(l.has_label = 1) AS labelled,
  round(avgIf(p.predicted_class = l.label_class, l.has_label = 1), 4) AS production_accuracy,
  round(avgIf(s.candidate_class = l.label_class, l.has_label = 1), 4) AS candidate_accuracy
FROM (SELECT * FROM shadow_predictions FINAL WHERE candidate = {candidate:String}) AS s
INNER JOIN predictions AS p ON p.model = s.model AND p.prediction_id = s.prediction_id
LEFT JOIN (SELECT model, prediction_id, label_class, toUInt8(1) AS has_label FROM labels FINAL) AS l
  ON l.model = s.model AND l.prediction_id = s.prediction_id
GROUP BY model, candidate
