import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateFixture, HOUR_MS, ndjsonLines, sendLines } from "../helpers/fixtures.js";
import { startTestService, type TestService } from "../helpers/service.js";
import { insertCandidateAnswers } from "../helpers/shadow-answers.js";

// The analyst's cookbook (dashboards/queries/*.sql), run as analysts run it (the read-only /sql endpoint,
// parameters as param_*) against fixture traffic, each answer checked against the fixture itself.

const DIR = join(import.meta.dirname, "../../dashboards/queries");
const START = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 6 * HOUR_MS;
const fixture = generateFixture({
  startMs: START,
  hours: 3,
  perHour: 60,
  priorShiftHour: 99,
  ageShiftHour: 2,
  labelRate: 0.7,
  seed: 41,
});
const labelOf = new Map(fixture.labels.map((l) => [l.id, l]));
const churn = fixture.predictions.filter((p) => p.model === "churn");
/** The candidate's answer: production's class, flipped for every fourth prediction. */
const candidateClass = (i: number) =>
  i % 4 === 0
    ? ((churn[i]?.predictedClass === "yes" ? "no" : "yes") as string)
    : (churn[i]?.predictedClass as string);

let service: TestService;
beforeAll(async () => {
  service = await startTestService({ reference: "previous" });
  await sendLines(service.url, ndjsonLines(fixture));
  await insertCandidateAnswers(service.store, churn, "churn-v8", (i) => ({
    candidateClass: candidateClass(i),
    latencyMs: 1,
  }));
  expect((await fetch(`${service.url}/analyze`, { method: "POST", body: "{}" })).status).toBe(200);
}, 60_000);
afterAll(async () => {
  await service?.stop();
});

/** Runs a cookbook file through /sql with its parameters; rows as JSON objects. */
async function run<T>(file: string, params: Record<string, string>): Promise<T[]> {
  const url = new URL(`${service.url}/sql`);
  url.searchParams.set("default_format", "JSONEachRow");
  url.searchParams.set("fresh", "1");
  for (const [k, v] of Object.entries(params)) url.searchParams.set(`param_${k}`, v);
  const res = await fetch(url, { method: "POST", body: readFileSync(join(DIR, file), "utf8") });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return text
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as T);
}

const utc = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");
/** Whether a value the SQL rounded to 4 places is `x` (the engine rounds halves to even, JavaScript up). */
const near = (x: number) => expect.closeTo(x, 4);

describe("the analyst's cookbook", () => {
  it("accuracy-by-segment: per region, over the labelled predictions in the range", async () => {
    const rows = await run<{ segment: string; value: string; labelled: number; accuracy: number }>(
      "accuracy-by-segment.sql",
      { model: "churn", from: utc(START), to: utc(START + 3 * HOUR_MS) },
    );
    const expected = ["eu", "us"].map((region) => {
      const labelled = churn.filter((p) => p.segments.region === region && labelOf.has(p.id));
      const right = labelled.filter((p) => labelOf.get(p.id)?.labelClass === p.predictedClass).length;
      return {
        segment: "region",
        value: region,
        labelled: labelled.length,
        accuracy: near(right / labelled.length),
      };
    });
    expect(
      rows.map(({ segment, value, labelled, accuracy }) => ({ segment, value, labelled, accuracy })),
    ).toEqual(expected);
  });

  it("awaiting-labels: per model and version, how many and the oldest", async () => {
    const rows = await run<{ model: string; version: string; awaiting: number; oldest: string }>(
      "awaiting-labels.sql",
      { older_than_hours: "1" },
    );
    const expected = ["churn", "eta"]
      .map((model) => {
        const waiting = fixture.predictions.filter((p) => p.model === model && !labelOf.has(p.id));
        return {
          model,
          version: "v1",
          awaiting: waiting.length,
          oldest: utc(Math.min(...waiting.map((p) => p.timeMs))),
        };
      })
      .sort((a, b) => b.awaiting - a.awaiting || (a.model < b.model ? -1 : 1));
    expect(rows).toEqual(expected);
  });

  it("top-drift: each feature's worst KL in the range, worst first", async () => {
    const rows = await run<{ model: string; feature: string; worst_kl: number }>("top-drift.sql", {
      from: utc(START),
      to: utc(START + 3 * HOUR_MS),
      top: "3",
    });
    // The same, read plainly from the metrics table.
    const all = await service.rows<{ model: string; subject: string; value: number }>(
      "SELECT model, subject, value FROM modelwatch.metrics FINAL WHERE metric = 'kl_divergence' AND segment = ''",
    );
    const worst = new Map<string, { model: string; feature: string; worst_kl: number }>();
    for (const r of all) {
      const key = `${r.model}/${r.subject}`;
      if ((worst.get(key)?.worst_kl ?? -1) < r.value)
        worst.set(key, { model: r.model, feature: r.subject, worst_kl: r.value });
    }
    const expected = [...worst.values()].sort((a, b) => b.worst_kl - a.worst_kl).slice(0, 3);
    expect(rows.map(({ model, feature, worst_kl }) => ({ model, feature, worst_kl }))).toEqual(expected);
    // age shifts from hour 2: it is the feature that drifted most.
    expect(rows[0]?.feature).toBe("age");
  });

  it("shadow-vs-production: agreement and both sides' accuracy on the same predictions", async () => {
    const [row] = await run<Record<string, number | string>>("shadow-vs-production.sql", {
      candidate: "churn-v8",
    });
    const labelled = churn.map((p, i) => ({ p, i })).filter(({ p }) => labelOf.has(p.id));
    const accuracy = (cls: (x: { p: (typeof churn)[number]; i: number }) => string) =>
      near(labelled.filter((x) => cls(x) === labelOf.get(x.p.id)?.labelClass).length / labelled.length);
    expect(row).toEqual({
      model: "churn",
      candidate: "churn-v8",
      answered: churn.length,
      agreement: near(churn.filter((_, i) => i % 4 !== 0).length / churn.length),
      labelled: labelled.length,
      production_accuracy: accuracy(({ p }) => p.predictedClass as string),
      candidate_accuracy: accuracy(({ i }) => candidateClass(i)),
    });
  });
});
