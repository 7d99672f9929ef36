import { StoreError } from "./errors.js";

/**
 * How each table lives on a ClickHouse cluster (CLICKHOUSE_CLUSTER): sharded tables are replicated per shard
 * (`<table>_local`, ReplicatedMergeTree) behind a Distributed table of the plain name, which every read and
 * write goes through; global tables (bookkeeping, a few rows) are one replicated table shared by every
 * node. A table not listed here cannot be created on a cluster: a new table must say how it is spread.
 *
 * Events shard by (model, prediction id): a prediction, its label, its index entry and its shadow answers
 * land on the same shard, so the analyzers' joins on prediction id run shard-locally
 * (`distributed_product_mode = 'local'`), and a model's traffic still spreads over every shard. Metrics
 * shard by model: they are few, and a model's rows stay together for recomputation.
 */
const LAYOUT: Readonly<Record<string, { shardBy: string } | "global">> = {
  predictions: { shardBy: "cityHash64(model, prediction_id)" },
  labels: { shardBy: "cityHash64(model, prediction_id)" },
  prediction_ids: { shardBy: "cityHash64(model, prediction_id)" },
  shadow_predictions: { shardBy: "cityHash64(model, prediction_id)" },
  metrics: { shardBy: "cityHash64(model)" },
  schema_migrations: "global",
  analyzer_state: "global",
  analyzer_references: "global",
  shadow_candidates: "global",
};

/** The table a mutation (ALTER, DELETE) of `table` must name: its local table, on every node. */
export function mutationTarget(db: string, table: string, cluster: string | undefined): string {
  if (cluster === undefined) return `${db}.${table}`;
  return `${db}.${layoutOf(table) === "global" ? table : `${table}_local`} ON CLUSTER ${cluster}`;
}

/** The name of the table holding `table`'s rows on each node (its DDL and TTL live there). */
export function localTable(table: string, cluster: string | undefined): string {
  return cluster === undefined || layoutOf(table) === "global" ? table : `${table}_local`;
}

const CREATE_DATABASE = /^CREATE DATABASE IF NOT EXISTS (\w+)$/;
const CREATE_TABLE =
  /^CREATE TABLE IF NOT EXISTS (\w+)\.(\w+)(\s*\([\s\S]*\)\s*)ENGINE = (\w+)(?:\(([^)]*)\))?([\s\S]*)$/;
const ALTER_TABLE = /^ALTER TABLE (\w+)\.(\w+)\s+([\s\S]*)$/;
const DROP_TABLE = /^DROP TABLE IF EXISTS (\w+)\.(\w+)$/;

/**
 * One schema statement as it runs on a cluster: `ON CLUSTER`, Replicated engines (ZooKeeper path by the
 * conventional `{shard}` / `{replica}` macros each node defines; global tables share one path), the
 * Distributed table in front of each sharded one, ALTERs aimed at the local tables (column changes at the
 * Distributed table too, which copies its columns when created), and a dropped table's Distributed and local
 * tables both dropped. Settings that only plain MergeTree has (`non_replicated_deduplication_window`:
 * replicated tables deduplicate by themselves) are dropped.
 */
export function onCluster(statement: string, cluster: string): string[] {
  const sql = statement.trim();
  const database = CREATE_DATABASE.exec(sql);
  if (database) return [`CREATE DATABASE IF NOT EXISTS ${database[1]} ON CLUSTER ${cluster}`];

  const create = CREATE_TABLE.exec(sql);
  if (create) {
    const [, db, table, columns, engine, args, rest] = create as unknown as string[];
    const layout = layoutOf(table as string);
    const local = layout === "global" ? (table as string) : `${table}_local`;
    const path =
      layout === "global"
        ? `/clickhouse/tables/{database}/${local}`
        : `/clickhouse/tables/{shard}/{database}/${local}`;
    const replicatedArgs = [`'${path}'`, "'{replica}'", ...(args?.trim() ? [args.trim()] : [])].join(", ");
    const statements = [
      `CREATE TABLE IF NOT EXISTS ${db}.${local} ON CLUSTER ${cluster}${columns}ENGINE = Replicated${engine}(${replicatedArgs})${rest}`,
    ];
    if (layout !== "global")
      statements.push(
        `CREATE TABLE IF NOT EXISTS ${db}.${table} ON CLUSTER ${cluster} AS ${db}.${local}
ENGINE = Distributed(${cluster}, ${db}, ${local}, ${layout.shardBy})`,
      );
    return statements;
  }

  const alter = ALTER_TABLE.exec(sql);
  if (alter) {
    const [, db, table, change] = alter as unknown as string[];
    if (/non_replicated_deduplication_window/.test(change as string)) return [];
    const statements = [`ALTER TABLE ${mutationTarget(db as string, table as string, cluster)} ${change}`];
    if (layoutOf(table as string) !== "global" && /^(ADD|MODIFY|DROP|RENAME) COLUMN/i.test(change as string))
      statements.push(`ALTER TABLE ${db}.${table} ON CLUSTER ${cluster} ${change}`);
    return statements;
  }
  const drop = DROP_TABLE.exec(sql);
  if (drop) {
    const [, db, table] = drop as unknown as string[];
    // The Distributed table first: nothing reaches the local tables through it while they go.
    const local = localTable(table as string, cluster);
    const statements = [`DROP TABLE IF EXISTS ${db}.${table} ON CLUSTER ${cluster} SYNC`];
    if (local !== table) statements.push(`DROP TABLE IF EXISTS ${db}.${local} ON CLUSTER ${cluster} SYNC`);
    return statements;
  }
  throw new StoreError("MIGRATION", `no cluster form for the schema statement: ${sql.slice(0, 120)}`, false);
}

function layoutOf(table: string): { shardBy: string } | "global" {
  const layout = LAYOUT[table];
  if (layout === undefined)
    throw new StoreError("MIGRATION", `table ${table} has no cluster layout (store/cluster.ts)`, false);
  return layout;
}
