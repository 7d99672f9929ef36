import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPORTED_METRICS } from "../../analyzers/index.js";
import { HOUR_MS, ndjsonLines, sendLines, steadyFixture } from "../helpers/fixtures.js";
import { startTestService, type TestService } from "../helpers/service.js";

const DIR = join(import.meta.dirname, "../../dashboards/prometheus");
const RULES = join(DIR, "modelwatch-rules.yml");
const promtool = spawnSync("promtool", ["--version"], { encoding: "utf8" }).status === 0;
/** Said in a test's name when it is skipped. */
const WITHOUT = promtool ? "" : " (skipped: promtool is not installed; Debian's prometheus package has it)";

describe("the Prometheus alerting rules", () => {
  // CI installs Debian's prometheus package (.ci/run); elsewhere, without promtool, these say so and skip.
  it.skipIf(!promtool)(`pass promtool check rules${WITHOUT}`, () => {
    const run = spawnSync("promtool", ["check", "rules", RULES], { encoding: "utf8" });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/SUCCESS: 6 rules found/);
  });

  it.skipIf(!promtool)(`fire as their unit tests say${WITHOUT}`, () => {
    const run = spawnSync("promtool", ["test", "rules", join(DIR, "modelwatch-rules.test.yml")], {
      encoding: "utf8",
      cwd: DIR,
    });
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });

  describe("read metrics the service exports", () => {
    let service: TestService;
    const sentAfterMs = Date.now();
    beforeAll(async () => {
      service = await startTestService({ reference: "previous" }); // drift from the second window on
      const start = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 3 * HOUR_MS;
      await sendLines(service.url, ndjsonLines(steadyFixture(start, 5)));
      await sendLines(service.url, ['{"event":"ml.prediction"}']).catch(() => {}); // one rejected record
      expect((await fetch(`${service.url}/analyze`, { method: "POST", body: "{}" })).status).toBe(200);
    }, 60_000);
    afterAll(async () => {
      await service?.stop();
    });

    it("every metric a rule names is on /metrics (or, for shadow candidates, among the analyzers' exports)", async () => {
      const exposition = await (await fetch(`${service.url}/metrics`)).text();
      const named = new Set(readFileSync(RULES, "utf8").match(/\bmodelwatch_[a-z_]+/g) ?? []);
      expect(named.size).toBeGreaterThan(8);
      const exported = new Set(EXPORTED_METRICS.map((m) => `modelwatch_${m}`));
      for (const name of named) {
        const onMetrics = new RegExp(`^${name}\\{`, "m").test(exposition);
        expect(onMetrics || (name.startsWith("modelwatch_shadow_") && exported.has(name)), name).toBe(true);
      }
    });

    it("exports when each model version's newest prediction was received", async () => {
      const exposition = await (await fetch(`${service.url}/metrics`)).text();
      const received = [
        ...exposition.matchAll(/^modelwatch_last_prediction_timestamp_seconds\{[^}]*\} (\S+)$/gm),
      ].map((m) => Number(m[1]) * 1000);
      expect(received.length).toBeGreaterThan(0);
      for (const ms of received) {
        expect(ms).toBeGreaterThanOrEqual(sentAfterMs - 1000);
        expect(ms).toBeLessThanOrEqual(Date.now());
      }
    });
  });
});
