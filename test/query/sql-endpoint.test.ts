import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonOf, startTestService, type TestService } from "../helpers/service.js";

let service: TestService;
beforeAll(async () => {
  // A long flush interval: rows reach the store only when a query asks for fresh results.
  service = await startTestService({ "batch-flush-interval-ms": "60000" });
  await fetch(`${service.url}/v1/events`, {
    method: "POST",
    body: ["a", "b", "b"]
      .map((c) => JSON.stringify({ event: "ml.prediction", "ml.model.name": "q", "ml.prediction.class": c }))
      .join("\n"),
  });
});
afterAll(async () => {
  await service?.stop();
});

const sql = (
  query: string,
  init: { params?: Record<string, string>; method?: string; body?: string } = {},
) => {
  const url = new URL(`${service.url}/sql`);
  for (const [k, v] of Object.entries(init.params ?? {})) url.searchParams.set(k, v);
  if (init.method !== "POST") url.searchParams.set("query", query);
  return fetch(url, {
    method: init.method ?? "GET",
    body: init.method === "POST" ? (init.body ?? query) : undefined,
  });
};

describe("/sql", () => {
  it("answers in the engine's format, with the database already selected", async () => {
    const query = "SELECT predicted_class, count() AS n FROM predictions GROUP BY 1 ORDER BY 1";
    // Acknowledged records may still be in the spool: without fresh=1 the query shows only what is stored.
    const stale = await sql(query, { params: { default_format: "JSONEachRow" } });
    expect(await stale.text()).toBe("");
    const res = await sql(query, { params: { default_format: "JSONEachRow", fresh: "1" } });
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(
      (await res.text())
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { predicted_class: "a", n: 1 },
      { predicted_class: "b", n: 2 },
    ]);
  });

  it("binds param_* values to {name:Type} placeholders", async () => {
    const res = await sql("SELECT count() FROM predictions WHERE predicted_class = {c:String}", {
      method: "POST",
      params: { param_c: "b" },
    });
    expect((await res.text()).trim()).toBe("2");
  });

  it.each([
    ["a write", "INSERT INTO labels (model) VALUES ('x')"],
    ["a settings change", "SET max_threads = 1"],
    ["a table function reading files", "SELECT * FROM file('/etc/hostname', 'LineAsString')"],
  ])("refuses %s with 403", async (_name, query) => {
    const res = await sql(query, { method: "POST" });
    expect(res.status).toBe(403);
    expect((await jsonOf(res)).error.code).toBe("readonly");
  });

  it("explains a bad query, a bad format name, a missing query and an oversize body", async () => {
    expect((await sql("SELECT nope")).status).toBe(400);
    const format = await sql("SELECT 1", { params: { default_format: "JSON; DROP" } });
    expect(format.status).toBe(400);
    expect((await jsonOf(format)).error.message).toMatch(/not a format name/);
    const missing = await fetch(`${service.url}/sql`);
    expect((await jsonOf(missing)).error.message).toMatch(/send the SQL/);
    const huge = await sql("", { method: "POST", body: `SELECT '${"x".repeat(1024 * 1024 + 10)}'` });
    expect(huge.status).toBe(413);
  });

  it("an unknown path is a 404 in the same envelope", async () => {
    const res = await fetch(`${service.url}/nowhere`);
    expect(res.status).toBe(404);
    expect((await jsonOf(res)).error.message).toBe("no route for GET /nowhere");
  });
});
