import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { migrate, SCHEMA_VERSION, Store, StoreError } from "../../store/index.js";
import { tempDir } from "../helpers/service.js";

const dir = tempDir();
afterAll(() => dir.remove());

const open = () => Store.open({ database: "modelwatch", dataDir: dir.path });

async function rows<T>(store: Store, query: string): Promise<T[]> {
  const rs = await store.client.query({ query, format: "JSONEachRow" });
  return rs.json<T>();
}

describe("the embedded store", () => {
  it("migrates once, records each version, and applies nothing the second time", async () => {
    const store = await open();
    const all = Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1);
    expect((await migrate(store, { retentionDays: 90 })).applied).toEqual(all);
    expect((await migrate(store, { retentionDays: 90 })).applied).toEqual([]);
    const versions = await rows<{ version: number }>(
      store,
      "SELECT version FROM modelwatch.schema_migrations FINAL ORDER BY version",
    );
    expect(versions.map((v) => Number(v.version))).toEqual(all);
    await store.close();
  });

  it("follows the configured retention: a new value changes the tables' TTL", async () => {
    const store = await open();
    await migrate(store, { retentionDays: 7 });
    const tables = await rows<{ name: string; create_table_query: string }>(
      store,
      "SELECT name, create_table_query FROM system.tables WHERE database = 'modelwatch' AND name IN ('predictions', 'labels') ORDER BY name",
    );
    expect(tables).toHaveLength(2);
    for (const t of tables)
      expect(t.create_table_query).toMatch(/TTL toDateTime\(time\) \+ (INTERVAL 7 DAY|toIntervalDay\(7\))/);
    expect(tables.find((t) => t.name === "predictions")?.create_table_query).toContain(
      "ttl_only_drop_parts = 1",
    );
    await store.close();
  });

  it("lets scans for what arrived since a run skip older granules, by arrival-time indexes", async () => {
    const store = await open();
    await migrate(store, { retentionDays: 90 });
    const now = Date.now();
    // Both batches in one partition (a day), the newer one later in event time.
    const noon = Math.floor(now / 86_400_000) * 86_400_000 + 43_200_000;
    const batch = (offsetMs: number) =>
      `INSERT INTO modelwatch.predictions (time, model, prediction_id, features_numeric, ingest_time)
       SELECT fromUnixTimestamp64Milli(${noon + offsetMs} + number, 'UTC'), 'm', toString(number), map('f', 1.0),
         fromUnixTimestamp64Milli(${now + offsetMs}, 'UTC')
       FROM numbers(20000)`;
    // One part holding an hour-old arrival and a new one (each at its own event time), as after a merge:
    // only the new one's granules are read.
    await store.client.command({ query: batch(-3_600_000) });
    await store.client.command({ query: batch(0) });
    await store.client.command({ query: "OPTIMIZE TABLE modelwatch.predictions FINAL" });
    const rs = await store.client.query({
      query: `EXPLAIN indexes = 1 SELECT count() FROM modelwatch.predictions
              WHERE ingest_time > fromUnixTimestamp64Milli(${now - 60_000}, 'UTC')`,
      format: "TabSeparatedRaw",
    });
    const plan = await rs.text();
    const skip = /Name: ingest_time_minmax[\s\S]*?Granules: (\d+)\/(\d+)/.exec(plan);
    expect(skip, plan).not.toBeNull();
    const [read, of] = [Number(skip?.[1]), Number(skip?.[2])];
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(of);
    const indexes = await rows<{ table: string; name: string }>(
      store,
      "SELECT table, name FROM system.data_skipping_indices WHERE database = 'modelwatch' ORDER BY table",
    );
    expect(indexes).toEqual(
      expect.arrayContaining([
        { table: "labels", name: "ingest_time_minmax" },
        { table: "predictions", name: "ingest_time_minmax" },
        { table: "shadow_predictions", name: "run_time_minmax" },
      ]),
    );
    await store.client.command({ query: "TRUNCATE TABLE modelwatch.predictions" });
    await store.close();
  });

  it("lets a search for labelled predictions by id range skip granules holding none, by an id index", async () => {
    const store = await open();
    await migrate(store, { retentionDays: 90 });
    // Ids made in time order (zero-padded, as sequential ids or UUIDv7 sort): 40,000 rows, five granules.
    await store.client.command({
      query: `INSERT INTO modelwatch.predictions (time, model, prediction_id, features_numeric)
              SELECT fromUnixTimestamp64Milli(${Date.now() - 3_600_000} + number, 'UTC'), 'm',
                leftPad(toString(number), 8, '0'), map('f', 1.0)
              FROM numbers(40000)`,
    });
    await store.client.command({ query: "OPTIMIZE TABLE modelwatch.predictions FINAL" });
    const rs = await store.client.query({
      query: `EXPLAIN indexes = 1 SELECT count() FROM modelwatch.predictions
              WHERE model = 'm' AND prediction_id BETWEEN '00020000' AND '00020100'`,
      format: "TabSeparatedRaw",
    });
    const plan = await rs.text();
    const skip = /Name: prediction_id_minmax[\s\S]*?Granules: (\d+)\/(\d+)/.exec(plan);
    expect(skip, plan).not.toBeNull();
    expect([Number(skip?.[1]), Number(skip?.[2])]).toEqual([1, 5]);
    // The id table it replaced is gone.
    expect(
      await rows(
        store,
        "SELECT name FROM system.tables WHERE database = 'modelwatch' AND name = 'prediction_ids'",
      ),
    ).toEqual([]);
    await store.client.command({ query: "TRUNCATE TABLE modelwatch.predictions" });
    await store.close();
  });

  it("answers analyst queries read-only, refusing writes and settings by the engine's readonly", async () => {
    const store = await open();
    await migrate(store, { retentionDays: 7 });
    const out = await store.queryReadOnly({
      sql: "SELECT {n:UInt8} + 1 AS x",
      defaultFormat: "CSV",
      params: { n: "41" },
    });
    expect(out.toString()).toBe("42\n");
    for (const sql of [
      "INSERT INTO labels (model) VALUES ('x')",
      "SET readonly = 0",
      "CREATE TABLE t (x UInt8) ENGINE = Memory",
    ]) {
      await expect(store.queryReadOnly({ sql, defaultFormat: "CSV" })).rejects.toMatchObject({
        code: "READONLY",
      });
    }
    await expect(store.queryReadOnly({ sql: "SELECT nope", defaultFormat: "CSV" })).rejects.toBeInstanceOf(
      StoreError,
    );
    // The writer's own connection is not affected by the reader's lock.
    await store.client.command({
      query: "INSERT INTO modelwatch.labels (model, prediction_id) VALUES ('w', '1')",
    });
    await store.close();
  });

  it("removes insert files left by a dead process, and keeps those of live ones", async () => {
    const inserts = join(dir.path, "modelwatch_inserts");
    mkdirSync(inserts, { recursive: true });
    const dead = spawnSync(process.execPath, [
      "-e",
      "process.stdout.write(String(process.pid))",
    ]).stdout.toString();
    const orphan = join(inserts, `predictions-${dead}-1.rowbinary`);
    const live = join(inserts, `predictions-${process.ppid}-1.rowbinary`);
    writeFileSync(orphan, "x");
    writeFileSync(live, "x");
    const store = await open();
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(live)).toBe(true);
    await store.close();
  });
});
