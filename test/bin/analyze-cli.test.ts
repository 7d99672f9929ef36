import { afterAll, describe, expect, it } from "vitest";
import { runCli, startServe, stop } from "../helpers/cli.js";
import { HOUR_MS, ndjsonLines, sendLines, steadyFixture } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/service.js";

const dir = tempDir();
afterAll(() => dir.remove());

const START = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 5 * HOUR_MS;
const fixture = steadyFixture(START, 3);

/** Accuracy of the churn model in hour `h`, from the events sent. */
function accuracy(h: number): number {
  const labels = new Map(fixture.labels.map((l) => [l.id, l.labelClass]));
  const pairs = fixture.predictions
    .filter(
      (p) => p.model === "churn" && p.timeMs >= START + h * HOUR_MS && p.timeMs < START + (h + 1) * HOUR_MS,
    )
    .filter((p) => labels.has(p.id));
  return pairs.filter((p) => p.predictedClass === labels.get(p.id)).length / pairs.length;
}

interface Printed {
  report: { windows: number };
  metrics: Array<{
    windowStart: string;
    model: string;
    metric: string;
    subject: string;
    segment: string;
    value: number;
  }>;
}

const accuracyOf = (printed: Printed, h: number) =>
  printed.metrics.find(
    (m) =>
      m.model === "churn" &&
      m.metric === "accuracy" &&
      m.segment === "" &&
      m.windowStart === new Date(START + h * HOUR_MS).toISOString().replace(".000Z", "Z"),
  )?.value;

describe("modelwatch analyze", () => {
  it("computes windows through the running service or from the store, as a table or JSON", {
    timeout: 120_000,
  }, async () => {
    const env = { MODELWATCH_DATA_DIR: dir.path };
    const serve = await startServe(["--analyze-interval-minutes", "0"], env);
    const port = new URL(serve.url).port;
    await sendLines(serve.url, ndjsonLines(fixture));

    const json = await runCli(["analyze", "--http-port", port, "--model", "churn", "--json"], env);
    expect(json.code, json.stderr).toBe(0);
    const printed = JSON.parse(json.stdout) as Printed;
    expect(printed.report.windows).toBe(2);
    for (const h of [0, 1]) expect(accuracyOf(printed, h)).toBeCloseTo(accuracy(h), 12);
    expect(new Set(printed.metrics.map((m) => m.model))).toEqual(new Set(["churn"]));

    // The service exports the newest window's values for Prometheus.
    const metrics = await (await fetch(`${serve.url}/metrics`)).text();
    const line = metrics
      .split("\n")
      .find((l) => l.startsWith("modelwatch_accuracy{") && l.includes('model="churn"'));
    expect(Number(line?.split(" ").pop())).toBeCloseTo(accuracy(1), 12);

    const table = await runCli(["analyze", "--http-port", port], env);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^window\s+model\s+version\s+count\s+labelled\s+accuracy/);
    expect(lines.filter((l) => / churn /.test(l))).toHaveLength(2);
    expect(lines.filter((l) => / eta /.test(l))).toHaveLength(2);
    expect(lines[lines.length - 1]).toMatch(/^4 window\(s\) of 2 model version\(s\) computed/);

    expect(await stop(serve.child)).toBe(0);

    // With no service the command opens the store itself.
    const direct = await runCli(["analyze", "--model", "churn", "--json"], env);
    expect(direct.code, direct.stderr).toBe(0);
    expect(accuracyOf(JSON.parse(direct.stdout) as Printed, 0)).toBeCloseTo(accuracy(0), 12);

    const bad = await runCli(["analyze", "--from", "yesterday"], env);
    expect(bad).toMatchObject({ code: 1 });
    expect(bad.stderr).toMatch(/--from yesterday: not an ISO 8601 time/);
  });
});
