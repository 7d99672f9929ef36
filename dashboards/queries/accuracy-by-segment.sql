-- Accuracy by segment value over a time range, from the labelled predictions (the latest label of each).
-- Parameters: {model:String} ('' for every model), {from:DateTime64(3)}, {to:DateTime64(3)}.
--   modelwatch sql "$(cat dashboards/queries/accuracy-by-segment.sql)" \
--     --param model=churn --param from='2026-11-21 00:00:00' --param to='2026-11-28 00:00:00'
SELECT
  p.model AS model,
  kv.1 AS segment,
  kv.2 AS value,
  count() AS labelled,
  round(avg(p.predicted_class = l.label_class), 4) AS accuracy
FROM predictions AS p
ARRAY JOIN CAST(p.segments, 'Array(Tuple(String, String))') AS kv
INNER JOIN (SELECT model, prediction_id, label_class FROM labels FINAL WHERE label_class != '') AS l
  ON l.model = p.model AND l.prediction_id = p.prediction_id
WHERE p.time >= {from:DateTime64(3)} AND p.time < {to:DateTime64(3)}
  AND ({model:String} = '' OR p.model = {model:String})
  AND p.predicted_class != ''
GROUP BY model, segment, value
ORDER BY model, segment, value
