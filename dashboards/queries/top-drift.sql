-- The features that drifted most: each feature's highest KL divergence in the analyzers' windows starting
-- in [from, to), with the window it was reached in and the status the thresholds gave it.
--   modelwatch sql "$(cat dashboards/queries/top-drift.sql)" \
--     --param from='2026-11-27 00:00:00' --param to='2026-11-28 00:00:00' --param top=10
SELECT
  model,
  model_version AS version,
  subject AS feature,
  max(value) AS worst_kl,
  argMax(window_start, value) AS worst_window,
  argMax(status, value) AS status
FROM metrics FINAL
WHERE metric = 'kl_divergence' AND segment = ''
  AND window_start >= {from:DateTime64(3)} AND window_start < {to:DateTime64(3)}
GROUP BY model, version, feature
ORDER BY worst_kl DESC
LIMIT {top:UInt32}
