import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Analyzer, DEFAULT_ANALYSIS } from "../../analyzers/index.js";
import { HOUR_MS, sendLines } from "../helpers/fixtures.js";
import { startTestService, type TestService } from "../helpers/service.js";

// The derived band of a window with fewer labelled predictions than the baseline's windows: the first day
// has 24 windows of 40 labelled predictions, right 32 or 36 times (accuracy 0.8 and 0.9 in turn: mean 0.85,
// population sd 0.05, band 0.85 ± 3·0.05 = [0.70, 1.00]). A later window of 10 labelled predictions has
// √(40/10) = 2 times the spread: [0.55, 1.15]; one of 40 keeps [0.70, 1.00].

const DAY_MS = 24 * HOUR_MS;
const DAY0 = Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS;

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
  const lines: string[] = [];
  /** `n` predictions in hour `h` of DAY0 onward, each labelled, the first `right` of them rightly. */
  const hourOf = (h: number, n: number, right: number) => {
    for (let i = 0; i < n; i++) {
      const id = `b-${h}-${i}`;
      lines.push(
        JSON.stringify({
          event: "ml.prediction",
          time: DAY0 + h * HOUR_MS + i * 1000,
          "ml.model.name": "banded",
          "ml.prediction.id": id,
          "ml.prediction.class": "yes",
        }),
        JSON.stringify({
          event: "ml.label",
          "ml.model.name": "banded",
          "ml.prediction.id": id,
          "ml.label.class": i < right ? "yes" : "no",
        }),
      );
    }
  };
  for (let h = 0; h < 24; h++) hourOf(h, 40, h % 2 === 0 ? 32 : 36);
  hourOf(27, 10, 6); // accuracy 0.6 of 10
  hourOf(29, 40, 24); // accuracy 0.6 of 40
  await sendLines(service.url, lines);
  await service.flushed();
  await new Analyzer(service.store, { ...DEFAULT_ANALYSIS, lateVisibilityMs: 0 }).analyzeChanges();
});
afterAll(async () => {
  await service?.stop();
});

const accuracyAt = async (h: number) =>
  (
    await service.rows<{ value: number; sample_size: number; status: string }>(
      `SELECT value, sample_size, status FROM modelwatch.metrics FINAL
       WHERE model = 'banded' AND metric = 'accuracy' AND segment = ''
         AND window_start = fromUnixTimestamp64Milli({ws:Int64}, 'UTC')`,
      { ws: DAY0 + h * HOUR_MS },
    )
  )[0];

describe("a derived band, for windows of fewer samples than the baseline's", () => {
  it("is widened by √(typical / n): 0.6 of 10 labelled is within it", async () => {
    expect(await accuracyAt(27)).toEqual({ value: 0.6, sample_size: 10, status: "ok" });
  });

  it("is as derived for a window as large as the baseline's: 0.6 of 40 is an alert", async () => {
    expect(await accuracyAt(29)).toEqual({ value: 0.6, sample_size: 40, status: "alert" });
  });

  it("grades the baseline's own windows against it unwidened", async () => {
    expect(await accuracyAt(0)).toEqual({ value: 0.8, sample_size: 40, status: "ok" });
  });
});
