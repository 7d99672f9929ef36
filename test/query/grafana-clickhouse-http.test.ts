import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOUR_MS, ndjsonLines, sendLines, steadyFixture } from "../helpers/fixtures.js";
import { decodeNative } from "../helpers/native.js";
import { startTestService, type TestService } from "../helpers/service.js";

// Grafana's ClickHouse datasource in HTTP mode (grafana-clickhouse-datasource 4.x, whose backend uses
// clickhouse-go v2.47 over HTTP) against /sql, replaying the requests that client sends (read from its
// conn_http.go and conn_http_query.go): POST to the configured path, the SQL as the body, Basic auth with
// the datasource's user and password, `Accept-Encoding: gzip`, and in the URL `database` (the default
// database), `default_format=Native`, `client_protocol_version=54460` and, per query, `max_execution_time`
// (the query timeout plus 5 s). It reads Native blocks at the server's revision (revision() of its first
// query), so each answer is decoded here as that client decodes it and compared with the engine's JSON.

const TOKEN = "grafana-read-token";
/** clickhouse-go v2.47's ClientTCPProtocolVersion (DBMS_MIN_PROTOCOL_VERSION_WITH_SERVER_QUERY_TIME_IN_PROGRES). */
const CLIENT_REVISION = 54460;
const START = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 3 * HOUR_MS;

let service: TestService;
beforeAll(async () => {
  service = await startTestService({ "read-tokens": TOKEN });
  await sendLines(service.url, ndjsonLines(steadyFixture(START, 3)));
  await service.flushed();
  expect(
    (
      await fetch(`${service.url}/analyze`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: "{}",
      })
    ).status,
  ).toBe(200);
}, 60_000);
afterAll(async () => {
  await service?.stop();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request exactly as clickhouse-go sends it over HTTP (node:http, so no header is added for us). */
function clickhouseGo(sql: string, options: { revision?: number; password?: string } = {}): Promise<Answer> {
  const url = new URL(`${service.url}/sql`);
  // url.Values.Encode(): keys sorted.
  url.search = new URLSearchParams({
    client_protocol_version: String(options.revision ?? CLIENT_REVISION),
    database: "modelwatch",
    default_format: "Native",
    max_execution_time: "65",
  }).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        headers: {
          host: url.host,
          "user-agent":
            "clickhouse-datasource/4.11.0 grafana/12.1.0 clickhouse-go/2.47.0 (lv:go/1.24.4; os:linux)",
          "content-length": Buffer.byteLength(sql),
          authorization: `Basic ${Buffer.from(`grafana:${options.password ?? TOKEN}`).toString("base64")}`,
          "accept-encoding": "gzip",
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(sql);
  });
}

/** The engine's own answer to the same SQL, as JSON: column names, types and rows. */
async function asJson(sql: string): Promise<{ names: string[]; types: string[]; rows: unknown[][] }> {
  const res = await fetch(`${service.url}/sql?default_format=JSONCompactEachRowWithNamesAndTypes`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}` },
    body: sql,
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  const [names, types, ...rows] = text
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as unknown[]);
  return { names: names as string[], types: types as string[], rows };
}

/** Decodes a Native answer at the server's revision and checks it against the engine's JSON answer. */
async function expectSameAsJson(sql: string, revision: number): Promise<unknown[][]> {
  const answer = await clickhouseGo(sql);
  expect(answer.status, answer.body.toString()).toBe(200);
  const columns = decodeNative(answer.body, revision);
  const json = await asJson(sql);
  expect(columns.map((c) => c.name)).toEqual(json.names);
  expect(columns.map((c) => c.type)).toEqual(json.types);
  const rows = json.rows.map((_, i) => columns.map((c) => c.values[i]));
  expect(rows).toEqual(json.rows);
  return rows;
}

let serverRevision = 0;

describe("Grafana's ClickHouse datasource (clickhouse-go over HTTP) against /sql", () => {
  it("connects: its first query learns the server's name, version, revision and time zone", async () => {
    const answer = await clickhouseGo("SELECT displayName(), version(), revision(), timezone()");
    expect(answer.status, answer.body.toString()).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/octet-stream");
    expect(answer.headers["content-encoding"]).toBeUndefined(); // it reads gzip only when told so
    // This answer is read at the client's own revision; the following ones at the server's.
    const columns = decodeNative(answer.body, CLIENT_REVISION);
    const [display, version, revision, timezone] = columns.map((c) => c.values[0]);
    expect(columns.map((c) => c.type)).toEqual(["String", "String", "UInt32", "String"]);
    const engine = await asJson("SELECT displayName(), version(), revision(), timezone()");
    expect([display, version, revision, timezone]).toEqual(engine.rows[0]);
    expect(revision).toBeGreaterThanOrEqual(54454);
    expect(["UTC", "Etc/UTC"]).toContain(timezone);
    serverRevision = revision as number;
  });

  it("answers its ping and version probe", async () => {
    const ping = decodeNative((await clickhouseGo("SELECT 1")).body, serverRevision);
    expect(ping).toEqual([{ name: "1", type: "UInt8", values: [1] }]);
    const [version] = decodeNative((await clickhouseGo("SELECT version()")).body, serverRevision);
    expect(String(version?.values[0])).toMatch(/^\d+\.\d+\./);
  });

  it("answers the query builder's schema queries", async () => {
    const databases = decodeNative((await clickhouseGo("SHOW DATABASES")).body, serverRevision);
    expect(databases[0]?.values).toContain("modelwatch");
    const tables = decodeNative((await clickhouseGo('SHOW TABLES FROM "modelwatch"')).body, serverRevision);
    expect(tables[0]?.values).toEqual(expect.arrayContaining(["labels", "metrics", "predictions"]));
    await expectSameAsJson(
      "SELECT name, type, table FROM system.columns WHERE database = 'modelwatch' AND table = 'metrics' ORDER BY position",
      serverRevision,
    );
  });

  it("answers a dashboard panel's query: time, LowCardinality model, values", async () => {
    const rows = await expectSameAsJson(
      [
        "SELECT window_start AS time, model, sum(value) AS predictions",
        "FROM metrics FINAL",
        `WHERE metric = 'count' AND segment = '' AND window_start >= toDateTime(${START / 1000}) AND window_start <= toDateTime(${START / 1000 + 7200})`,
        "GROUP BY time, model ORDER BY time, model",
      ].join("\n"),
      serverRevision,
    );
    // steadyFixture: two hours of 30 predictions an hour of each model.
    const hour = (h: number) => new Date(START + h * HOUR_MS).toISOString().slice(0, 23).replace("T", " ");
    expect(rows).toEqual([
      [hour(0), "churn", 30],
      [hour(0), "eta", 30],
      [hour(1), "churn", 30],
      [hour(1), "eta", 30],
    ]);
  });

  it("answers maps, arrays, nullables, LowCardinality and many blocks", async () => {
    await expectSameAsJson(
      "SELECT prediction_id, model, class_scores, segments, latency_ms, predicted_value, mapKeys(features_numeric) AS features FROM predictions ORDER BY model, prediction_id LIMIT 50",
      serverRevision,
    );
    // More rows than one block holds (the engine cuts blocks at 65,409 rows).
    const answer = await clickhouseGo(
      "SELECT number, toString(number) AS s, toLowCardinality(toString(number % 7)) AS lc FROM numbers(150000)",
    );
    const [n, s, lc] = decodeNative(answer.body, serverRevision);
    expect(n?.values.length).toBe(150_000);
    expect(n?.values.reduce((a, b) => (a as number) + (b as number), 0)).toBe((149_999 * 150_000) / 2);
    expect(s?.values[149_999]).toBe("149999");
    expect(lc?.values.slice(0, 9)).toEqual(["0", "1", "2", "3", "4", "5", "6", "0", "1"]);
  });

  it("shapes blocks for older clients too: block info without the serialization flag below revision 54454", async () => {
    const answer = await clickhouseGo("SELECT 7 AS x, 'a' AS s", { revision: 54453 });
    expect(decodeNative(answer.body, 54453)).toEqual([
      { name: "x", type: "UInt8", values: [7] },
      { name: "s", type: "String", values: ["a"] },
    ]);
  });

  it("sends an empty body for no rows, as ClickHouse does", async () => {
    const answer = await clickhouseGo("SELECT model FROM predictions WHERE model = 'nobody'");
    expect([answer.status, answer.headers["content-length"], answer.body.length]).toEqual([200, "0", 0]);
  });

  it("refuses writes, a wrong password and a type it cannot shape, saying why", async () => {
    const write = await clickhouseGo("INSERT INTO predictions (model) VALUES ('x')");
    expect([write.status, write.body.toString()]).toEqual([
      403,
      expect.stringMatching(/readonly|only reads/i),
    ]);
    const wrong = await clickhouseGo("SELECT 1", { password: "not-the-token" });
    expect(wrong.status).toBe(401);
    const state = await clickhouseGo("SELECT sumState(1) AS s");
    expect([state.status, state.body.toString()]).toEqual([
      400,
      expect.stringContaining("column s is of type AggregateFunction"),
    ]);
    const bad = await clickhouseGo("SELEC 1");
    expect(bad.status).toBe(400);
  });
});
