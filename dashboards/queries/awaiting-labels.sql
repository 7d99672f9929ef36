-- Predictions still waiting for a label, per model and version: how many, and the oldest one's time. Only
-- predictions older than {older_than_hours:UInt32} hours count (labels take time to arrive).
--   modelwatch sql "$(cat dashboards/queries/awaiting-labels.sql)" --param older_than_hours=24
SELECT
  model,
  model_version AS version,
  count() AS awaiting,
  min(time) AS oldest
FROM predictions
WHERE time < now64(3) - toIntervalHour({older_than_hours:UInt32})
  AND (model, prediction_id) NOT IN (SELECT model, prediction_id FROM labels)
GROUP BY model, version
ORDER BY awaiting DESC, model, version
