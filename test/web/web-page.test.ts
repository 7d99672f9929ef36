import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo } from "../../demo/run.js";
import { DEMO_MODELS } from "../../demo/workload.js";
import { startTestService, type TestService } from "../helpers/service.js";

// The first look without Grafana: the page at / and the report file, in Debian's headless Chromium, over a
// store filled by the demo's generator through the real OTLP exporter. Screenshots go to test-artifacts/.

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(import.meta.dirname, "../../test-artifacts");
const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (Debian's chromium package)`;
if (missing) console.warn(`skipped: ${missing}`);

describe.skipIf(missing !== undefined)("the web page and the report, in Chromium", () => {
  let service: TestService;
  let browser: Browser;
  const modelsDir = mkdtempSync(join(tmpdir(), "modelwatch-web-models-"));
  let driftFromMs = 0;

  beforeAll(async () => {
    service = await startTestService({ "models-dir": modelsDir });
    driftFromMs = (await runDemo({ baseUrl: service.url, modelsDir, durationS: 0, perHour: 150 }))
      .driftStartMs;
    // Playwright starts Chromium on a fresh, temporary profile of its own.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    rmSync(modelsDir, { recursive: true, force: true });
  });

  it("lists the demo's models with their health: churn drifting, eta degraded, fraud healthy", async () => {
    const page = await browser.newPage();
    await page.goto(`${service.url}/`);
    const badges = await page.$$eval("tr[data-model]", (rows) =>
      rows.map((r) => [r.getAttribute("data-model"), r.querySelector(".badge")?.textContent]),
    );
    expect(Object.fromEntries(badges)).toEqual({ churn: "drifting", eta: "degraded", fraud: "healthy" });
    expect(badges.map(([m]) => m)).toEqual([...DEMO_MODELS].sort());
    await page.screenshot({ path: join(ARTIFACTS, "web-models.png"), fullPage: true });
    await page.close();
  });

  it("charts a model: quality, latency and shadow series drawn by uPlot, drift as a heatmap", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${service.url}/models/churn`);
    await page.waitForSelector("#chart-shadow[data-rendered=true]");
    const charts = await page.$$eval(".chart", (els) =>
      els.map((e) => ({
        id: e.id,
        series: e.getAttribute("data-series"),
        canvas: e.querySelectorAll("canvas").length,
        legend: [...e.querySelectorAll(".u-legend .u-series .u-label")].map((l) => l.textContent),
      })),
    );
    expect(charts.map((c) => [c.id, c.series])).toEqual([
      ["chart-quality", "accuracy|recall (macro)|F1 (macro)"],
      ["chart-latency", "p50|p95"],
      ["chart-shadow", "churn-candidate"],
    ]);
    for (const c of charts) {
      expect(c.canvas, c.id).toBeGreaterThan(0);
      expect(c.legend.slice(1), c.id).toEqual(c.series?.split("|"));
    }
    // age drifts from the demo's drift start: every window from then on is in alert.
    const age = await page.$$eval('#heatmap tr[data-feature="age"] td', (tds) =>
      tds.map((td) => [Number(td.getAttribute("data-window")), td.getAttribute("data-status")] as const),
    );
    const features = await page.$$eval("#heatmap tr[data-feature]", (trs) =>
      trs.map((t) => t.getAttribute("data-feature")),
    );
    expect(features).toEqual(["age", "plan", "prediction.class", "tenure"]);
    const drifted = age.filter(([w]) => w >= driftFromMs).map(([, status]) => status);
    expect(drifted.length).toBeGreaterThanOrEqual(6);
    expect(drifted.every((s) => s === "alert")).toBe(true);
    // The reference day itself is not in alert.
    expect(age.filter(([w]) => w < driftFromMs - 86_400_000).every(([, s]) => s !== "alert")).toBe(true);
    expect(
      await page.$$eval("#class-mix tr[data-class]", (trs) => trs.map((t) => t.getAttribute("data-class"))),
    ).toEqual(["no", "yes"]);
    expect(errors).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, "web-churn.png"), fullPage: true });
    await page.close();
  });

  it("writes a report that opens offline and shows the values `modelwatch analyze --json` shows", async () => {
    // What `modelwatch analyze --json` prints with a service running: the service's /analyze answer.
    const analyzed = (await (
      await fetch(`${service.url}/analyze`, { method: "POST", body: JSON.stringify({ models: ["churn"] }) })
    ).json()) as {
      metrics: { windowStart: string; metric: string; subject: string; segment: string; value: number }[];
    };

    const res = await fetch(`${service.url}/report?model=churn`);
    expect(res.status).toBe(200);
    const file = join(ARTIFACTS, "churn-report.html");
    writeFileSync(file, await res.text());
    const page = await browser.newPage();
    const requests: string[] = [];
    await page.route("**/*", (route) => {
      requests.push(route.request().url());
      return route.request().url().startsWith("file:") ? route.continue() : route.abort();
    });
    await page.goto(`file://${file}`);
    await page.waitForSelector("#chart-quality[data-rendered=true]");
    expect(requests.filter((u) => !u.startsWith("file:"))).toEqual([]);
    const shown = await page.$$eval("#numbers tr", (trs) =>
      trs.slice(1).map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")),
    );
    const expected = new Map(
      analyzed.metrics
        .filter((m) => m.segment === "" && m.metric !== "confusion")
        .map((m) => [`${Date.parse(m.windowStart)}|${m.metric}|${m.subject}`, m.value]),
    );
    expect(shown.length).toBe(expected.size);
    for (const [window, metric, subject, value] of shown)
      expect(Number(value), `${window} ${metric} ${subject}`).toBe(
        expected.get(`${Date.parse(window as string)}|${metric}|${subject}`),
      );
    // The report is long (every value): its first screen is enough to see it rendered.
    await page.screenshot({ path: join(ARTIFACTS, "churn-report.png") });
    await page.close();
  });
});
