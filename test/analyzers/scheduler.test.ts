import { afterAll, describe, expect, it } from "vitest";
import { HOUR_MS, ndjsonLines, sendLines, steadyFixture } from "../helpers/fixtures.js";
import { startTestService, tempDir } from "../helpers/service.js";

const dir = tempDir();
afterAll(() => dir.remove());

const START = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 3 * HOUR_MS;
const fixture = steadyFixture(START, 11);

describe("the analyzer schedule inside serve", () => {
  it("runs at start and exports the newest window's values on /metrics", { timeout: 60_000 }, async () => {
    // Data stored by one run of the service…
    const first = await startTestService({ "data-dir": dir.path });
    await sendLines(first.url, ndjsonLines(fixture));
    await first.flushed();
    await first.close();

    // …is analysed by the next one's scheduled run, without anyone asking.
    const second = await startTestService({ "data-dir": dir.path, "analyze-interval-minutes": "5" });
    try {
      const labels = new Map(fixture.labels.map((l) => [l.id, l.labelClass]));
      const newest = fixture.predictions.filter(
        (p) => p.model === "churn" && p.timeMs >= START + HOUR_MS && labels.has(p.id),
      );
      const expected = newest.filter((p) => p.predictedClass === labels.get(p.id)).length / newest.length;
      let line: string | undefined;
      for (let i = 0; i < 100 && !line; i++) {
        const text = await (await fetch(`${second.url}/metrics`)).text();
        line = text
          .split("\n")
          .find((l) => l.startsWith("modelwatch_accuracy{") && l.includes('model="churn"'));
        if (!line) await new Promise((r) => setTimeout(r, 100));
      }
      expect(Number(line?.split(" ").pop())).toBeCloseTo(expected, 12);
    } finally {
      await second.close();
    }
  });
});
