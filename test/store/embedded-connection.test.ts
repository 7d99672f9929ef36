import { describe, expect, it } from "vitest";
import { bindQueryParams, QueryParameterError, sqlLiteral } from "../../store/sql-literal.js";
import { labelsRowBinary } from "../../store/tables/labels.js";
import { migratedStoreForFile } from "../helpers/store.js";

// Embedded mode's writer binds query parameters into the statement's text (so that statements run beside
// each other: chdb queues every parameterized statement in one chain) and spreads statements over several
// connections. Bound values must reach the engine exactly as server-side binding would have them.

const { store } = migratedStoreForFile();

const TRICKY = [
  "it's",
  "back\\slash",
  "a\\'b",
  "line\nbreak\ttab\r",
  "nul\0byte",
  "{x:String}",
  "ünï 🚀",
  "",
  "'; DROP TABLE x; --",
];

describe("binding query parameters into a statement", () => {
  it("writes literals the engine reads back as the values", async () => {
    const params = {
      s: TRICKY[0],
      strings: TRICKY,
      n: -1_795_737_600_000,
      f: 0.1 + 0.2,
      big: 18_446_744_073_709_551_615n,
      bigs: [1n, 9_223_372_036_854_775_808n],
      yes: true,
      none: [] as number[],
    };
    const rs = await store().client.query({
      query: `SELECT {s:String} AS s, {strings:Array(String)} AS strings, {n:Int64} AS n, {f:Float64} AS f,
                toString({big:UInt64}) AS big, arrayMap(x -> toString(x), {bigs:Array(UInt64)}) AS bigs,
                {yes:Bool} AS yes, length({none:Array(Int64)}) AS none, toTypeName({n:Int64}) AS n_type`,
      query_params: params,
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const [row] = await rs.json<Record<string, unknown>>();
    expect(row).toEqual({
      s: "it's",
      strings: TRICKY,
      n: -1_795_737_600_000,
      f: 0.1 + 0.2,
      big: "18446744073709551615",
      bigs: ["1", "9223372036854775808"],
      yes: true,
      none: 0,
      n_type: "Int64",
    });
  });

  it("leaves a placeholder without a value for the engine to refuse", async () => {
    expect(bindQueryParams("SELECT {a:Int64}, {b:String}", { a: 1 })).toBe(
      "SELECT _CAST(1, 'Int64'), {b:String}",
    );
    await expect(
      store().client.query({ query: "SELECT {a:Int64} + {b:Int64}", query_params: { a: 1 } }),
    ).rejects.toThrow(/b/);
  });

  it("quotes a type that holds quotes", () => {
    expect(bindQueryParams("SELECT {t:DateTime64(3, 'UTC')}", { t: "2026-11-29 10:00:00" })).toBe(
      "SELECT _CAST('2026-11-29 10:00:00', 'DateTime64(3, \\'UTC\\')')",
    );
  });

  it("writes non-finite numbers as the engine's words and refuses objects", () => {
    expect(
      [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY].map((v) => sqlLiteral(v)),
    ).toEqual(["nan", "inf", "-inf"]);
    expect(() => bindQueryParams("SELECT {o:String}", { o: { a: 1 } })).toThrow(QueryParameterError);
  });
});

describe("the writer's connections", () => {
  it("let an insert through while another statement runs", async () => {
    const finished: string[] = [];
    // sleep() holds its connection for the second; the insert goes to another one and lands first.
    const slow = store()
      .client.query({ query: "SELECT sleep({s:Float64})", query_params: { s: 1.5 } })
      .then(() => finished.push("slow statement"));
    await new Promise((r) => setTimeout(r, 100));
    await store()
      .insertRows(
        "labels",
        labelsRowBinary([
          { timeMs: Date.now(), model: "m", predictionId: "p1", labelClass: "a", labelValue: null },
        ]),
      )
      .then(() => finished.push("insert"));
    await slow;
    expect(finished).toEqual(["insert", "slow statement"]);
    const rs = await store().client.query({
      query: "SELECT count() AS n FROM modelwatch.labels WHERE prediction_id = {id:String}",
      query_params: { id: "p1" },
      format: "JSONEachRow",
    });
    const rows = await rs.json<{ n: string | number }>();
    expect(rows.map((r) => Number(r.n))).toEqual([1]);
  });
});
