import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MetricRow, metricRecord, migrate, Store } from "../../store/index.js";
import { modelHealth } from "../../web/index.js";
import { tempDir } from "../helpers/service.js";

// Health from statuses written straight into `metrics`: four past hourly windows, the newest ended.
const HOUR_MS = 3_600_000;
const H0 = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 6 * HOUR_MS;
const NOW = H0 + 4 * HOUR_MS + 30 * 60_000;

const dir = tempDir();
let store: Store;

/** `statuses[i]` for window i (null: no row); every window rests on 100 samples unless `sizes` says. */
function rows(
  model: string,
  metric: string,
  subject: string,
  statuses: (string | null)[],
  sizes: number[] = [],
) {
  return statuses.flatMap((status, i): MetricRow[] =>
    status === null
      ? []
      : [
          {
            windowStartMs: H0 + i * HOUR_MS,
            windowEndMs: H0 + (i + 1) * HOUR_MS,
            model,
            modelVersion: "v1",
            segment: "",
            metric,
            subject,
            value: 0.5,
            sampleSize: sizes[i] ?? 100,
            reference: "",
            status: status as MetricRow["status"],
          },
        ],
  );
}

beforeAll(async () => {
  store = await Store.open({ database: "modelwatch", dataDir: dir.path });
  await migrate(store, { retentionDays: 90 });
  const all = [
    ...rows("blip", "accuracy", "", ["ok", "ok", "ok", "alert"]),
    ...rows("sinking", "accuracy", "", ["ok", "ok", "alert", "alert"]),
    // The window between the two alerts rests on too few labels to count (10 of a typical 100).
    ...rows("gapped", "accuracy", "", ["ok", "alert", "ok", "alert"], [100, 100, 10, 100]),
    ...rows("shifted", "kl_divergence", "age", ["ok", "ok", "ok", "alert"]),
    ...rows("shifted", "accuracy", "", ["ok", "ok", "ok", "ok"]),
  ];
  await store.client.insert({
    table: "modelwatch.metrics",
    values: all.map((r) => metricRecord(r, NOW)),
    format: "JSONEachRow",
  });
});
afterAll(async () => {
  await store?.close();
  dir.remove();
});

describe("a model version's health", () => {
  it("is degraded when a quality metric is in alert in its newest two settled windows, not in one", async () => {
    const health = Object.fromEntries(
      (await modelHealth(store, NOW)).map((h) => [h.model, { health: h.health, alerts: h.alerts }]),
    );
    expect(health).toEqual({
      blip: { health: "healthy", alerts: [] },
      sinking: { health: "degraded", alerts: ["accuracy"] },
      gapped: { health: "degraded", alerts: ["accuracy"] },
      shifted: { health: "drifting", alerts: ["kl_divergence:age"] },
    });
  });
});
