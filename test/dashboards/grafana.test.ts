import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Dashboard, Panel } from "@grafana/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DASHBOARDS, dashboardJson } from "../../dashboards/grafana/dashboards.js";
import { generateFixture, HOUR_MS, ndjsonLines, sendLines } from "../helpers/fixtures.js";
import { expandPanelSql, type PanelContext, promMetricNames } from "../helpers/grafana.js";
import { startTestService, type TestService } from "../helpers/service.js";
import { insertCandidateAnswers } from "../helpers/shadow-answers.js";

// The Grafana dashboards, their provisioning and the Grafana alert rules: the JSON is what the typed source
// generates, every uid they name is provisioned, every panel's SQL (macros and variables expanded as Grafana
// and the ClickHouse plugin expand them) runs against fixture traffic and answers what the fixture says,
// every Prometheus metric they name is on a live /metrics, and /sql answers requests shaped as the plugin's
// HTTP mode sends them.

const GRAFANA = join(import.meta.dirname, "../../dashboards/grafana");
const PROVISIONING = join(GRAFANA, "provisioning");
const TOKEN = "grafana-read-token";

interface Target {
  refId: string;
  datasource?: { uid?: string; type?: string };
  rawSql?: string;
  expr?: string;
}
const targetsOf = (d: Dashboard): { panel: Panel; target: Target }[] =>
  (d.panels ?? []).flatMap((p) =>
    ((p as Panel).targets ?? []).map((t) => ({ panel: p as Panel, target: t as unknown as Target })),
  );
const yamlFile = <T>(path: string): T => parse(readFileSync(join(PROVISIONING, path), "utf8")) as T;

interface AlertRule {
  uid: string;
  data: { refId: string; datasourceUid: string; model: { expr?: string; conditions?: unknown[] } }[];
}
const alertRules = () =>
  yamlFile<{ groups: { rules: AlertRule[] }[] }>("alerting/modelwatch-rules.yaml").groups.flatMap(
    (g) => g.rules,
  );

describe("the Grafana dashboards' files", () => {
  it("are what the typed source generates (npm run dashboards)", () => {
    for (const [file, dashboard] of Object.entries(DASHBOARDS))
      expect(readFileSync(join(GRAFANA, file), "utf8"), file).toBe(dashboardJson(dashboard));
    expect(Object.keys(DASHBOARDS)).toHaveLength(3);
  });

  it("name only provisioned datasources, in panels, targets, variables and alert rules", () => {
    const provisioned = new Set(
      yamlFile<{ datasources: { uid: string }[] }>("datasources/modelwatch.yaml").datasources.map(
        (d) => d.uid,
      ),
    );
    expect([...provisioned].sort()).toEqual(["modelwatch-clickhouse", "modelwatch-prometheus"]);
    let named = 0;
    for (const d of Object.values(DASHBOARDS)) {
      for (const p of d.panels ?? []) expect(provisioned).toContain((p as Panel).datasource?.uid);
      for (const { target } of targetsOf(d)) expect(provisioned).toContain(target.datasource?.uid);
      for (const v of d.templating?.list ?? []) expect(provisioned).toContain(v.datasource?.uid);
      named += targetsOf(d).length;
    }
    expect(named).toBeGreaterThan(15);
    for (const rule of alertRules())
      for (const step of rule.data) expect([...provisioned, "__expr__"]).toContain(step.datasourceUid);
    const dashboards = yamlFile<{ providers: { type: string; options: { path: string } }[] }>(
      "dashboards/modelwatch.yaml",
    );
    expect(dashboards.providers[0]?.type).toBe("file");
  });

  it("alert in Grafana on the thresholds of the Prometheus rules, one rule for each", () => {
    const prometheus = readFileSync(join(GRAFANA, "../prometheus/modelwatch-rules.yml"), "utf8");
    const rules = alertRules();
    expect(rules).toHaveLength(6);
    // Grafana rule → the Prometheus alert it mirrors, and the threshold as that file writes it.
    const mirrors: Record<string, [string, string]> = {
      "modelwatch-accuracy-low": ["ModelwatchAccuracyLow", "< 0.80"],
      "modelwatch-feature-drift": ["ModelwatchFeatureDrift", "> 0.10"],
      "modelwatch-label-coverage-collapsed": ["ModelwatchLabelCoverageCollapsed", "< 0.5 *"],
      "modelwatch-shadow-agreement-low": ["ModelwatchShadowAgreementLow", "< 0.90"],
      "modelwatch-ingest-rejections-rising": ["ModelwatchIngestRejectionsRising", "> 0.05"],
      "modelwatch-no-events": ["ModelwatchNoEvents", "> 30 * 60"],
    };
    for (const rule of rules) {
      const [alert, written] = mirrors[rule.uid] ?? ["", ""];
      expect(alert, rule.uid).not.toBe("");
      const block = prometheus.slice(prometheus.indexOf(`alert: ${alert}`)).split("- alert:")[0] ?? "";
      expect(block).toContain(written);
      const threshold = rule.data.find((s) => s.refId === "C")?.model.conditions?.[0] as {
        evaluator: { type: string; params: number[] };
      };
      // "> 30 * 60" is 1800 s; "< 0.5 *" compares with half the day's best.
      const value = Number(/[\d.]+/.exec(written)?.[0]) * (written.includes("* 60") ? 60 : 1);
      expect(threshold.evaluator.params[0]).toBeCloseTo(value, 9);
      expect(threshold.evaluator.type).toBe(written.startsWith("<") ? "lt" : "gt");
    }
  });
});

describe("the dashboards against a running service", () => {
  const START = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 6 * HOUR_MS;
  const HOURS = 3;
  const fixture = generateFixture({
    startMs: START,
    hours: HOURS,
    perHour: 60,
    priorShiftHour: 99,
    ageShiftHour: 1,
    labelRate: 0.7,
    seed: 43,
  });
  const latencyOf = (i: number) => 5 + (i % 20);
  const labelOf = new Map(fixture.labels.map((l) => [l.id, l]));
  const churn = fixture.predictions.filter((p) => p.model === "churn");
  const context: PanelContext = {
    fromMs: START,
    toMs: START + HOURS * HOUR_MS,
    intervalS: 3600,
    variables: { model: "churn", version: "v1", segment: "", candidate: "churn-v8" },
  };
  let service: TestService;

  beforeAll(async () => {
    service = await startTestService({ reference: "previous", "read-tokens": TOKEN });
    const lines = ndjsonLines(fixture).map((line, i) => {
      const event = JSON.parse(line) as Record<string, unknown>;
      if (event.event === "ml.prediction") event["ml.latency_ms"] = latencyOf(i);
      return JSON.stringify(event);
    });
    await sendLines(service.url, lines);
    await sendLines(service.url, ['{"event":"ml.prediction"}']).catch(() => {}); // one rejected record
    await insertCandidateAnswers(service.store, churn, "churn-v8", (i) => ({
      candidateClass: i % 5 === 0 ? "maybe" : (churn[i]?.predictedClass as string),
      latencyMs: 2 + (i % 3),
    }));
    const analyzed = await fetch(`${service.url}/analyze`, {
      method: "POST",
      body: "{}",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(analyzed.status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await service?.stop();
  });

  /** A panel's SQL through /sql, as the plugin sends it in HTTP mode but in JSON rows. */
  async function run<T>(sqlText: string): Promise<T[]> {
    const url = new URL(`${service.url}/sql`);
    url.searchParams.set("database", "modelwatch");
    url.searchParams.set("default_format", "JSONEachRow");
    url.searchParams.set("fresh", "1");
    const res = await fetch(url, {
      method: "POST",
      body: expandPanelSql(sqlText, context),
      headers: { authorization: `Basic ${Buffer.from(`default:${TOKEN}`).toString("base64")}` },
    });
    const text = await res.text();
    expect(res.status, `${text}\n${sqlText}`).toBe(200);
    return text
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as T);
  }

  const sqlOf = (file: string, title: string): string => {
    const panel = DASHBOARDS[file]?.panels?.find((p) => (p as Panel).title === title) as Panel | undefined;
    const sqlText = (panel?.targets?.[0] as Target | undefined)?.rawSql;
    if (!sqlText) throw new Error(`no panel "${title}" in ${file}`);
    return sqlText;
  };
  const isLabelled = (id: string) => labelOf.get(id)?.labelClass !== undefined;

  it("every ClickHouse panel and variable query runs and answers rows", async () => {
    let ran = 0;
    for (const [file, d] of Object.entries(DASHBOARDS)) {
      for (const { panel, target } of targetsOf(d)) {
        if (target.rawSql === undefined) continue;
        const rows = await run<Record<string, unknown>>(target.rawSql);
        expect(rows.length, `${file}: ${panel.title}`).toBeGreaterThan(0);
        ran++;
      }
      for (const v of d.templating?.list ?? []) {
        const rows = await run<Record<string, string>>(String(v.query));
        expect(rows.length, `${file}: variable ${v.name}`).toBeGreaterThan(0);
        ran++;
      }
    }
    expect(ran).toBeGreaterThan(15);
  });

  it("variables list the fixture's models, versions and candidates", async () => {
    const values = async (file: string, name: string) => {
      const v = DASHBOARDS[file]?.templating?.list?.find((x) => x.name === name);
      return (await run<Record<string, string>>(String(v?.query))).map((r) => Object.values(r)[0]);
    };
    expect(await values("modelwatch-model.json", "model")).toEqual(["churn", "eta"]);
    expect(await values("modelwatch-model.json", "version")).toEqual(["v1"]);
    // The service analyses no segments here: all traffic only.
    expect(await values("modelwatch-model.json", "segment")).toEqual([""]);
    expect(await values("modelwatch-shadow.json", "candidate")).toEqual(["churn-v8"]);
  });

  it("fleet: the models table and the traffic per interval are the fixture's", async () => {
    const rows = await run<{ model: string; predictions: number; label_coverage: number; accuracy: number }>(
      sqlOf("modelwatch-fleet.json", "Models in the time range"),
    );
    const churnRow = rows.find((r) => r.model === "churn");
    const labelled = churn.filter((p) => isLabelled(p.id));
    const right = labelled.filter((p) => labelOf.get(p.id)?.labelClass === p.predictedClass);
    expect(Number(churnRow?.predictions)).toBe(churn.length);
    expect(churnRow?.label_coverage).toBeCloseTo(labelled.length / churn.length, 4);
    expect(churnRow?.accuracy).toBeCloseTo(right.length / labelled.length, 4);
    expect(rows.map((r) => r.model)).toEqual(["churn", "eta"]);

    const traffic = await run<{ t: string; model: string; predictions: number }>(
      sqlOf("modelwatch-fleet.json", "Predictions per interval, by model"),
    );
    for (let h = 0; h < HOURS; h++) {
      const hourStart = START + h * HOUR_MS;
      const expected = churn.filter((p) => p.timeMs >= hourStart && p.timeMs < hourStart + HOUR_MS).length;
      const row = traffic.find((r) => r.model === "churn" && Date.parse(`${r.t}Z`) === hourStart);
      expect(Number(row?.predictions), `hour ${h}`).toBe(expected);
    }
  });

  it("one model: accuracy per window, the confusion matrix and the class mix are the fixture's", async () => {
    const inHour = (h: number) =>
      churn.filter((p) => p.timeMs >= START + h * HOUR_MS && p.timeMs < START + (h + 1) * HOUR_MS);
    const quality = await run<{ t: string; metric: string; value: number }>(
      sqlOf("modelwatch-model.json", "Accuracy, macro precision / recall / F1"),
    );
    for (let h = 0; h < HOURS; h++) {
      const labelled = inHour(h).filter((p) => isLabelled(p.id));
      const right = labelled.filter((p) => labelOf.get(p.id)?.labelClass === p.predictedClass).length;
      const row = quality.find(
        (r) => r.metric === "accuracy" && Date.parse(`${r.t.replace(" ", "T")}Z`) === START + h * HOUR_MS,
      );
      expect(row?.value, `hour ${h}`).toBeCloseTo(right / labelled.length, 9);
    }
    const cells = await run<{ predicted: string; actual: string; predictions: number }>(
      sqlOf("modelwatch-model.json", "Confusion matrix (labelled predictions in the range)"),
    );
    const expected = new Map<string, number>();
    for (const p of churn.filter((x) => isLabelled(x.id))) {
      const key = `${p.predictedClass}|${labelOf.get(p.id)?.labelClass}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    expect(new Map(cells.map((c) => [`${c.predicted}|${c.actual}`, Number(c.predictions)]))).toEqual(
      expected,
    );

    const mix = await run<{ class: string; predicted: number; actual: number }>(
      sqlOf("modelwatch-model.json", "Predicted vs actual classes (labelled predictions in the range)"),
    );
    for (const cls of ["no", "yes"]) {
      const labelled = churn.filter((p) => isLabelled(p.id));
      const row = mix.find((m) => m.class === cls);
      expect(Number(row?.predicted)).toBe(labelled.filter((p) => p.predictedClass === cls).length);
      expect(Number(row?.actual)).toBe(labelled.filter((p) => labelOf.get(p.id)?.labelClass === cls).length);
    }
  });

  it("one model: KL per feature per window and latency quantiles within the fixture's latencies", async () => {
    const kl = await run<{ t: string; feature: string; kl: number }>(
      sqlOf("modelwatch-model.json", "KL divergence per feature and window"),
    );
    // Each window against the one before (reference "previous"): every window but the first.
    // The features, and the predicted class's distribution beside them.
    expect(new Set(kl.map((r) => r.feature))).toEqual(new Set(["age", "plan", "tenure", "prediction.class"]));
    expect(new Set(kl.map((r) => r.t)).size).toBe(HOURS - 1);
    // age shifts at hour 1: its KL there is the largest of all.
    const worst = kl.reduce((a, b) => (b.kl > a.kl ? b : a));
    expect(worst.feature).toBe("age");
    expect(Date.parse(`${worst.t.replace(" ", "T")}Z`)).toBe(START + HOUR_MS);

    const latency = await run<{ t: string; p50: number; p95: number; p99: number }>(
      sqlOf("modelwatch-model.json", "Serving latency quantiles (ms)"),
    );
    expect(latency).toHaveLength(HOURS);
    for (const r of latency) {
      expect(r.p50).toBeGreaterThanOrEqual(5);
      expect(r.p50).toBeLessThanOrEqual(r.p95);
      expect(r.p95).toBeLessThanOrEqual(r.p99);
      expect(r.p99).toBeLessThanOrEqual(24);
    }
  });

  it("shadow: agreement per window is the fixture's, and the candidate's latency is its own", async () => {
    const agreement = await run<{ t: string; value: number }>(
      sqlOf("modelwatch-shadow.json", "Agreement with production"),
    );
    expect(agreement).toHaveLength(HOURS);
    for (let h = 0; h < HOURS; h++) {
      const inHour = churn
        .map((p, i) => ({ p, i }))
        .filter(({ p }) => p.timeMs >= START + h * HOUR_MS && p.timeMs < START + (h + 1) * HOUR_MS);
      const agreeing = inHour.filter(({ i }) => i % 5 !== 0).length;
      const row = agreement.find((r) => Date.parse(`${r.t.replace(" ", "T")}Z`) === START + h * HOUR_MS);
      expect(row?.value, `hour ${h}`).toBeCloseTo(agreeing / inHour.length, 9);
    }
    const latency = await run<{ p50: number; p99: number }>(
      sqlOf("modelwatch-shadow.json", "Candidate inference latency quantiles (ms)"),
    );
    for (const r of latency) {
      expect(r.p50).toBeGreaterThanOrEqual(2);
      expect(r.p99).toBeLessThanOrEqual(4);
    }
  });

  it("every Prometheus metric a panel or Grafana alert rule reads is on a live /metrics", async () => {
    const exposition = await (
      await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).text();
    const named = new Set<string>();
    for (const d of Object.values(DASHBOARDS))
      for (const { target } of targetsOf(d)) for (const n of promMetricNames(target.expr ?? "")) named.add(n);
    for (const rule of alertRules())
      for (const step of rule.data) for (const n of promMetricNames(step.model.expr ?? "")) named.add(n);
    expect(named.size).toBeGreaterThan(8);
    for (const name of named) expect(exposition, name).toMatch(new RegExp(`^${name}\\{`, "m"));
  });

  it("answers /sql as Grafana's ClickHouse plugin asks in HTTP mode (clickhouse-go: Native, settings, basic auth)", async () => {
    // clickhouse-go over HTTP: POST to the configured path, the query in the body, database and its
    // settings as URL parameters, default_format=Native, credentials as basic auth; it first asks for the
    // server's time zone.
    const ask = async (query: string, password = TOKEN) => {
      const url = new URL(`${service.url}/sql`);
      url.searchParams.set("database", "modelwatch");
      url.searchParams.set("max_execution_time", "60");
      url.searchParams.set("default_format", "Native");
      return fetch(url, {
        method: "POST",
        body: query,
        headers: { authorization: `Basic ${Buffer.from(`default:${password}`).toString("base64")}` },
      });
    };
    const zone = await ask("SELECT timeZone()");
    expect(zone.status).toBe(200);
    const block = readNativeStrings(Buffer.from(await zone.arrayBuffer()));
    expect(block.columns).toEqual([{ name: "timeZone()", type: "String" }]);
    expect(block.rows[0]?.[0]).toMatch(/^[A-Za-z_/+-]+$/);

    const ids = await ask(
      "SELECT prediction_id FROM predictions WHERE model = 'churn' ORDER BY prediction_id LIMIT 3",
    );
    const expected = churn
      .map((p) => p.id)
      .sort()
      .slice(0, 3);
    expect(readNativeStrings(Buffer.from(await ids.arrayBuffer())).rows).toEqual(expected.map((id) => [id]));
    expect((await ask("SELECT 1", "wrong")).status).toBe(401);
  });
});

/**
 * Reads one block of ClickHouse's Native format holding String columns, as the format is documented:
 * column and row counts (LEB128), then per column its name, its type and its values, each string
 * length-prefixed (LEB128).
 */
function readNativeStrings(bytes: Buffer): {
  columns: { name: string; type: string }[];
  rows: string[][];
} {
  let at = 0;
  const varUInt = () => {
    let n = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++] as number;
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
      shift += 7;
    }
  };
  const text = () => {
    const n = varUInt();
    const s = bytes.subarray(at, at + n).toString("utf8");
    at += n;
    return s;
  };
  const columnCount = varUInt();
  const rowCount = varUInt();
  const columns: { name: string; type: string }[] = [];
  const rows: string[][] = Array.from({ length: rowCount }, () => []);
  for (let c = 0; c < columnCount; c++) {
    const column = { name: text(), type: text() };
    columns.push(column);
    if (column.type !== "String") throw new Error(`column ${column.name} is ${column.type}, not String`);
    for (let r = 0; r < rowCount; r++) rows[r]?.push(text());
  }
  expect(at).toBe(bytes.length);
  return { columns, rows };
}
