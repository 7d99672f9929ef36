import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, startServe, stop } from "../helpers/cli.js";
import { HOUR_MS, ndjsonLines, sendLines, steadyFixture } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/service.js";

const dir = tempDir();
afterAll(() => dir.remove());

const START = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 5 * HOUR_MS;
const fixture = steadyFixture(START, 4);

describe("modelwatch report and demo", () => {
  it("writes the report through the running service or from the store, and the demo needs a service", {
    timeout: 120_000,
  }, async () => {
    const env = { MODELWATCH_DATA_DIR: dir.path };
    const serve = await startServe(["--analyze-interval-minutes", "0"], env);
    const port = new URL(serve.url).port;
    await sendLines(serve.url, ndjsonLines(fixture));
    expect((await runCli(["analyze", "--http-port", port], env)).code).toBe(0);

    const viaService = join(dir.path, "via-service.html");
    const asked = await runCli(["report", "--http-port", port, "--model", "churn", "--out", viaService], env);
    expect(asked.code, asked.stderr).toBe(0);
    expect(asked.stdout.trim()).toBe(viaService);
    expect(await stop(serve.child)).toBe(0);

    // With no service the command opens the store itself; the file is the same page.
    const direct = join(dir.path, "direct.html");
    const own = await runCli(["report", "--model", "churn", "--out", direct], env);
    expect(own.code, own.stderr).toBe(0);
    for (const file of [viaService, direct]) {
      const html = readFileSync(file, "utf8");
      expect(html).toContain("<h1>churn");
      expect(html).toContain('id="numbers"');
      // Self-contained: uPlot inlined, nothing fetched.
      expect(html).toContain("uPlot");
      expect(html).not.toMatch(/<script src=|<link [^>]*href=/);
    }
    const rows = (f: string) =>
      readFileSync(f, "utf8")
        .split("<tr>")
        .filter((r) => r.includes("<td>")).length;
    expect(rows(direct)).toBe(rows(viaService));

    const unknown = await runCli(["report", "--model", "nope", "--out", join(dir.path, "x.html")], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no analysed window of nope/);
    expect(existsSync(join(dir.path, "x.html"))).toBe(false);

    const demo = await runCli(["demo", "--duration", "1"], env);
    expect(demo.code).toBe(1);
    expect(demo.stderr).toMatch(/no service answers .*: start one first/);
  });
});
