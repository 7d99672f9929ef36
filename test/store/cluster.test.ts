import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../bin/config.js";
import { mutationTarget, onCluster, Store, StoreError, schemaStatements } from "../../store/index.js";
import { migratedStoreForFile } from "../helpers/store.js";

// Cluster mode's schema (CLICKHOUSE_CLUSTER): every statement a fresh store runs, in its cluster form. No
// cluster runs here; each generated statement is parsed by the engine (formatQuery) and its shape checked.

const { store, dataDir } = migratedStoreForFile();

const clustered = () =>
  schemaStatements("modelwatch", { retentionDays: 30 }).flatMap((s) => onCluster(s, "prod"));
const creating = (table: string) =>
  clustered().filter((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS modelwatch.${table} `));

describe("the schema on a cluster", () => {
  it("is made of statements the engine parses, each ON CLUSTER", async () => {
    const statements = clustered();
    expect(statements.length).toBeGreaterThan(20);
    for (const sql of statements) {
      expect(sql).toContain("ON CLUSTER prod");
      const rs = await store().client.query({
        query: "SELECT formatQuery({q:String}) AS f",
        query_params: { q: sql },
        format: "JSONEachRow",
      });
      expect((await rs.json<{ f: string }>())[0]?.f, sql).toBeTruthy();
    }
  });

  it("replicates each event table per shard behind a Distributed table sharded by prediction", () => {
    for (const table of ["predictions", "labels", "prediction_ids", "shadow_predictions"]) {
      const [local] = creating(`${table}_local`);
      expect(local).toMatch(
        new RegExp(
          `ENGINE = Replicated\\w*MergeTree\\('/clickhouse/tables/\\{shard\\}/\\{database\\}/${table}_local', '\\{replica\\}'`,
        ),
      );
      const [front] = creating(table);
      expect(front).toContain(`AS modelwatch.${table}_local`);
      expect(front).toContain(
        `ENGINE = Distributed(prod, modelwatch, ${table}_local, cityHash64(model, prediction_id))`,
      );
    }
    // The engine's own arguments follow the replication path: the version column of a replacing table.
    expect(creating("labels_local")[0]).toContain(
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/labels_local', '{replica}', ingest_time)",
    );
    expect(creating("metrics")[0]).toContain(
      "ENGINE = Distributed(prod, modelwatch, metrics_local, cityHash64(model))",
    );
    // Sorting, partitions and TTLs stay on the local tables.
    expect(creating("predictions_local")[0]).toMatch(
      /PARTITION BY toDate\(time\)\s+ORDER BY \(model, model_version, time\)\s+TTL toDateTime\(time\) \+ INTERVAL 30 DAY/,
    );
  });

  it("keeps bookkeeping in one replicated table for the whole cluster", () => {
    for (const table of ["schema_migrations", "analyzer_state", "analyzer_references", "shadow_candidates"]) {
      const statements = creating(table);
      expect(statements).toHaveLength(1);
      expect(statements[0]).toContain(
        `ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/${table}', '{replica}'`,
      );
      expect(statements[0]).not.toContain("Distributed");
    }
  });

  it("alters the local tables, columns on the Distributed table too, drops plain MergeTree's settings and retired tables", () => {
    const alters = clustered().filter((s) => s.startsWith("ALTER"));
    expect(alters.some((s) => s.includes("non_replicated_deduplication_window"))).toBe(false);
    expect(alters).toContain(
      "ALTER TABLE modelwatch.predictions_local ON CLUSTER prod ADD INDEX IF NOT EXISTS ingest_time_minmax ingest_time TYPE minmax GRANULARITY 1",
    );
    const column = alters.filter((s) => s.includes("ADD COLUMN IF NOT EXISTS numeric_keys_hash"));
    expect(column.map((s) => s.slice(0, s.indexOf(" ADD")))).toEqual([
      "ALTER TABLE modelwatch.predictions_local ON CLUSTER prod",
      "ALTER TABLE modelwatch.predictions ON CLUSTER prod",
    ]);
    // A retired table goes from every node: its Distributed table, then the replicated one behind it.
    expect(clustered().filter((s) => s.startsWith("DROP"))).toEqual([
      "DROP TABLE IF EXISTS modelwatch.prediction_ids ON CLUSTER prod SYNC",
      "DROP TABLE IF EXISTS modelwatch.prediction_ids_local ON CLUSTER prod SYNC",
    ]);
    expect(() =>
      onCluster(
        "CREATE TABLE IF NOT EXISTS modelwatch.unknown (x UInt8) ENGINE = MergeTree ORDER BY x",
        "prod",
      ),
    ).toThrow(/unknown has no cluster layout/);
  });

  it("is asked for with a ClickHouse server only: a clear error otherwise", async () => {
    expect(() => parseConfig({ "clickhouse-cluster": "prod" }, {})).toThrow(ConfigError);
    expect(() => parseConfig({}, { CLICKHOUSE_CLUSTER: "prod" })).toThrow(
      /CLICKHOUSE_CLUSTER.*CLICKHOUSE_URL/,
    );
    expect(
      parseConfig({}, { CLICKHOUSE_CLUSTER: "prod", CLICKHOUSE_URL: "http://ch:8123" }).clickhouse.cluster,
    ).toBe("prod");
    await expect(Store.open({ database: "modelwatch", dataDir, cluster: "prod" })).rejects.toThrow(
      StoreError,
    );
  });

  it("deletes and alters the local tables on every node, the plain table without a cluster", () => {
    expect(mutationTarget("modelwatch", "metrics", "prod")).toBe("modelwatch.metrics_local ON CLUSTER prod");
    expect(mutationTarget("modelwatch", "analyzer_state", "prod")).toBe(
      "modelwatch.analyzer_state ON CLUSTER prod",
    );
    expect(store().mutationTarget("metrics")).toBe("modelwatch.metrics");
  });
});
