import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Analyzer, DEFAULT_ANALYSIS } from "../../analyzers/index.js";
import { generateFixture, HOUR_MS, labelEvent, ndjsonLines, sendLines } from "../helpers/fixtures.js";
import { startTestService, type TestService } from "../helpers/service.js";

// Two analyzers over one store at once (two services, or a service and `modelwatch analyze`) leave the same
// metrics as one run alone: runs are idempotent, so scaling out or an overlapping run does no harm.

const START = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 5 * HOUR_MS;
const fixture = generateFixture({
  startMs: START,
  hours: 3,
  perHour: 50,
  priorShiftHour: 2,
  ageShiftHour: 1,
  labelRate: 0.6,
  seed: 17,
});
const options = { ...DEFAULT_ANALYSIS, lateVisibilityMs: 0, segments: ["region"] };

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
  await sendLines(service.url, ndjsonLines(fixture));
  await service.flushed();
});
afterAll(async () => {
  await service?.stop();
});

/** Every stored metric value, by identity; FINAL rows, so a duplicate identity would show as a conflict. */
async function snapshot(): Promise<Map<string, string>> {
  const rows = await service.rows<Record<string, string | number>>(
    `SELECT model, model_version, toString(window_start) AS ws, segment, metric, subject,
       toString(round(value, 12)) AS v, sample_size, status, reference
     FROM modelwatch.metrics FINAL ORDER BY ALL`,
  );
  const out = new Map<string, string>();
  for (const r of rows) {
    const id = [r.model, r.model_version, r.ws, r.segment, r.metric, r.subject].join("|");
    expect(out.has(id), `one row for ${id}`).toBe(false);
    out.set(id, [r.v, r.sample_size, r.status, r.reference].join("|"));
  }
  return out;
}

describe("analysis runs at once", () => {
  it("leave the metrics one run alone leaves, first runs and incremental ones", async () => {
    await Promise.all([
      new Analyzer(service.store, options).analyzeChanges(),
      new Analyzer(service.store, options).analyzeChanges(),
    ]);
    const together = await snapshot();
    expect(together.size).toBeGreaterThan(200);
    await new Analyzer(service.store, options).analyze();
    expect(await snapshot()).toEqual(together);

    // Late labels for hour 0 (every unlabelled churn prediction there), then two incremental runs at once.
    const labelled = new Set(fixture.labels.map((l) => l.id));
    const late = fixture.predictions
      .filter((p) => p.model === "churn" && p.timeMs < START + HOUR_MS && !labelled.has(p.id))
      .map((p) =>
        JSON.stringify(labelEvent({ timeMs: p.timeMs + 1, model: "churn", id: p.id, labelClass: "yes" })),
      );
    expect(late.length).toBeGreaterThan(5);
    await sendLines(service.url, late);
    await service.flushed();
    const [a, b] = await Promise.all([
      new Analyzer(service.store, options).analyzeChanges(),
      new Analyzer(service.store, options).analyzeChanges(),
    ]);
    expect(a.windows + b.windows).toBeGreaterThan(0);
    const afterLate = await snapshot();
    expect(afterLate).not.toEqual(together);
    await new Analyzer(service.store, options).analyze();
    expect(await snapshot()).toEqual(afterLate);
  });
});
