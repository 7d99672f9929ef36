import { ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendLines } from "../helpers/fixtures.js";
import { startTestService, type TestService } from "../helpers/service.js";

// The read-only /sql endpoint speaks enough of ClickHouse's HTTP interface for ClickHouse's own client:
// Basic auth with a read token as the password, database and query_id parameters, param_* values.

const TOKEN = "analyst-token";
let service: TestService;
beforeAll(async () => {
  service = await startTestService({ "read-tokens": TOKEN });
  await sendLines(
    service.url,
    ["churn", "churn", "eta"].map((model, i) =>
      JSON.stringify({ event: "ml.prediction", "ml.model.name": model, "ml.prediction.id": `p${i}` }),
    ),
  );
  await service.flushed();
});
afterAll(async () => {
  await service?.stop();
});

const client = (password: string) =>
  createClient({
    url: service.url,
    pathname: "/sql",
    username: "analyst",
    password,
    database: "modelwatch",
    log: { level: ClickHouseLogLevel.OFF }, // the refusals below are expected
  });

describe("@clickhouse/client against /sql", () => {
  it("reads with a read token as its password, query parameters bound", async () => {
    const c = client(TOKEN);
    try {
      const rs = await c.query({
        query: "SELECT model, count() AS n FROM predictions WHERE model = {m:String} GROUP BY model",
        query_params: { m: "churn" },
        format: "JSONEachRow",
      });
      expect(await rs.json()).toEqual([{ model: "churn", n: 2 }]);
    } finally {
      await c.close();
    }
  });

  it("is refused writes and settings changes by the engine, and a wrong token", async () => {
    const c = client(TOKEN);
    try {
      await expect(c.command({ query: "INSERT INTO predictions (model) VALUES ('x')" })).rejects.toThrow(
        /readonly|only reads/i,
      );
      await expect(c.command({ query: "SET max_threads = 1" })).rejects.toThrow(/readonly|only reads/i);
      const [n] = await (
        await c.query({ query: "SELECT count() AS n FROM predictions", format: "JSONEachRow" })
      ).json<{ n: number }>();
      expect(n?.n).toBe(3);
    } finally {
      await c.close();
    }
    const wrong = client("not-the-token");
    try {
      await expect(wrong.query({ query: "SELECT 1", format: "JSONEachRow" })).rejects.toThrow(
        /token is not valid/,
      );
    } finally {
      await wrong.close();
    }
    // curl's way: -H 'X-ClickHouse-Key: …'
    const res = await fetch(`${service.url}/sql?query=SELECT%2042`, {
      headers: { "x-clickhouse-key": TOKEN },
    });
    expect([res.status, (await res.text()).trim()]).toEqual([200, "42"]);
    const other = await fetch(`${service.url}/sql?query=SELECT%201&database=system`, {
      headers: { "x-clickhouse-key": TOKEN },
    });
    expect([other.status, ((await other.json()) as { error: { message: string } }).error.message]).toEqual([
      400,
      "this endpoint reads database modelwatch, not system",
    ]);
  });
});
