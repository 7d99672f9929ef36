import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Analyzer, DEFAULT_ANALYSIS } from "../../analyzers/index.js";
import { utcText } from "../../store/index.js";
import { HOUR_MS, sendLines } from "../helpers/fixtures.js";
import { startTestService, type TestService } from "../helpers/service.js";

// A baseline's reference (deciles, top values, bin counts) is stored by the run that computed it. A restarted
// service's analyzer (a new Analyzer) reads it back instead of reading the baseline again, unless a baseline
// prediction arrived after it was computed. Either way drift comes out as a recomputation from scratch has it.

const DAY_MS = 24 * HOUR_MS;
const DAY0 = Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS;
const OPTIONS = { ...DEFAULT_ANALYSIS, lateVisibilityMs: 0 };

let service: TestService;
let serial = 0;

/** `n` predictions in hour `h` from DAY0, feature x spread over [shift, shift + 100), plan cycling. */
function hour(h: number, n: number, shift: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      event: "ml.prediction",
      time: DAY0 + h * HOUR_MS + i * 1000,
      "ml.model.name": "stored",
      "ml.model.version": "v1",
      "ml.prediction.id": `s-${serial++}`,
      "ml.prediction.class": i % 3 === 0 ? "yes" : "no",
      "ml.feature.x": shift + ((i * 37) % 100),
      "ml.feature.plan": ["basic", "pro", "team"][i % 3],
    }),
  );
}

async function send(lines: string[]): Promise<void> {
  await sendLines(service.url, lines);
  await service.flushed();
}

/** Every statement the store's read-write client runs while `run` does. */
async function statementsOf(run: () => Promise<unknown>): Promise<string[]> {
  const client = service.store.client;
  const seen: string[] = [];
  const query = client.query.bind(client);
  client.query = ((params: Parameters<typeof query>[0]) => {
    seen.push(params.query);
    return query(params);
  }) as typeof client.query;
  try {
    await run();
  } finally {
    client.query = query;
  }
  return seen;
}

/** Drift values of the version's windows from `fromHour` on, by window, metric and feature. */
async function drift(fromHour: number): Promise<Record<string, number>> {
  const rows = await service.rows<{ ws: number; metric: string; subject: string; value: number }>(
    `SELECT toUnixTimestamp64Milli(window_start) AS ws, metric, subject, value FROM modelwatch.metrics FINAL
     WHERE model = 'stored' AND segment = '' AND metric IN ('kl_divergence', 'psi', 'js_distance')
       AND window_start >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')`,
    { from: DAY0 + fromHour * HOUR_MS },
  );
  return Object.fromEntries(
    rows.map((r) => [`${(r.ws - DAY0) / HOUR_MS}/${r.metric}/${r.subject}`, r.value]),
  );
}

const readsBaseline = (statements: string[]) => statements.some((s) => s.includes("quantilesExact"));

beforeAll(async () => {
  service = await startTestService();
  const lines: string[] = [];
  for (let h = 0; h < 24; h++) lines.push(...hour(h, 30, 0)); // the baseline: DAY0
  lines.push(...hour(26, 30, 40)); // a later window, shifted
  await send(lines);
  await new Analyzer(service.store, OPTIONS).analyzeChanges();
});
afterAll(async () => {
  await service?.stop();
});

describe("a baseline's stored reference", () => {
  it("is stored by the run that computed it", async () => {
    const rows = await service.rows<{ n: number }>(
      "SELECT count() AS n FROM modelwatch.analyzer_references WHERE model = 'stored'",
    );
    expect(rows.map((r) => Number(r.n))).toEqual([1]);
  });

  it("is read back after a restart instead of the baseline, with drift as a recomputation has it", async () => {
    await send(hour(27, 30, 60));
    const restarted = new Analyzer(service.store, OPTIONS);
    const statements = await statementsOf(() => restarted.analyzeChanges());
    expect(readsBaseline(statements)).toBe(false);
    const incremental = await drift(27);
    expect(Object.keys(incremental).length).toBeGreaterThan(0);
    // From scratch, trusting nothing stored: the same values.
    const recomputing = new Analyzer(service.store, OPTIONS);
    expect(readsBaseline(await statementsOf(() => recomputing.analyze()))).toBe(true);
    expect(await drift(27)).toEqual(incremental);
  });

  it("is not used once a baseline prediction arrived after it: the baseline is read again", async () => {
    const before = await drift(26);
    // Late predictions into the baseline's first hours, all far right: the deciles and counts move.
    await send(hour(1, 60, 500));
    const restarted = new Analyzer(service.store, OPTIONS);
    const statements = await statementsOf(() => restarted.analyzeChanges());
    expect(readsBaseline(statements)).toBe(true);
    const after = await drift(26);
    expect(after).not.toEqual(before);
    const recomputing = new Analyzer(service.store, OPTIONS);
    await recomputing.analyze();
    expect(await drift(26)).toEqual(after);
  });

  it("is computed again when the newest stored one cannot be read", async () => {
    const [stored] = await service.rows<{ config: string; reference: string }>(
      "SELECT config, reference FROM modelwatch.analyzer_references WHERE model = 'stored' LIMIT 1",
    );
    await service.store.client.insert({
      table: "modelwatch.analyzer_references",
      values: [
        {
          ...stored,
          model: "stored",
          model_version: "v1",
          computed_at: utcText(Date.now()),
          bins: "{",
          counts: "[",
        },
      ],
      format: "JSONEachRow",
    });
    await send(hour(28, 30, 20));
    const restarted = new Analyzer(service.store, OPTIONS);
    expect(readsBaseline(await statementsOf(() => restarted.analyzeChanges()))).toBe(true);
    expect(Object.keys(await drift(28)).length).toBeGreaterThan(0);
  });
});
