import type { Store } from "./client.js";
import { localTable, onCluster } from "./cluster.js";
import { StoreError } from "./errors.js";
import { analyzerReferencesDdl } from "./tables/analyzer-references.js";
import { labelsDdl } from "./tables/labels.js";
import { analyzerStateDdl, metricsDdl } from "./tables/metrics.js";
import { predictionIdsDdl } from "./tables/prediction-ids.js";
import { numericKeysHashDdl, predictionsDdl } from "./tables/predictions.js";
import { shadowCandidatesDdl } from "./tables/shadow-candidates.js";
import { shadowPredictionsDdl } from "./tables/shadow-predictions.js";

/** Settings that shape the schema, fixed at start from validated config. */
export interface SchemaOptions {
  retentionDays: number;
}

interface Migration {
  version: number;
  name: string;
  statements(db: string, options: SchemaOptions): string[];
}

/**
 * The schema's history, oldest first. A migration never changes once released: add a new one. Every
 * statement is idempotent (IF NOT EXISTS), so a run interrupted between a statement and its record is safe
 * to repeat.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "predictions and labels",
    statements: (db, o) => [predictionsDdl(db, o.retentionDays), labelsDdl(db, o.retentionDays)],
  },
  {
    version: 2,
    name: "deduplication window for replayed inserts",
    // Replicated tables deduplicate by themselves; this gives plain MergeTree the same memory of the last
    // inserts' tokens, so a batch replayed after a crash is stored once.
    statements: (db) =>
      ["predictions", "labels"].map(
        (t) => `ALTER TABLE ${db}.${t} MODIFY SETTING non_replicated_deduplication_window = ${DEDUP_WINDOW}`,
      ),
  },
  {
    version: 3,
    name: "analyzer results and progress",
    statements: (db, o) => [metricsDdl(db, o.retentionDays), analyzerStateDdl(db)],
  },
  {
    version: 4,
    name: "prediction lookup by id, for late labels",
    statements: (db, o) => [predictionIdsDdl(db, o.retentionDays)],
  },
  {
    version: 5,
    name: "shadow candidates' answers",
    statements: (db, o) => [shadowPredictionsDdl(db, o.retentionDays)],
  },
  {
    version: 6,
    name: "shadow candidates registered",
    statements: (db) => [shadowCandidatesDdl(db)],
  },
  {
    version: 7,
    name: "numeric feature names hashed per prediction, for reading features by position",
    statements: (db) => [numericKeysHashDdl(db)],
  },
  {
    version: 8,
    name: "arrival-time skip indexes, for finding what arrived since a run",
    // Each incremental analysis asks which rows arrived since the previous run. Arrival follows event time
    // closely, so per-granule min/max of the arrival column let those scans skip all but the newest
    // granules instead of reading the column over the whole history.
    statements: (db) =>
      (
        [
          ["predictions", "ingest_time"],
          ["labels", "ingest_time"],
          ["shadow_predictions", "run_time"],
        ] as const
      ).flatMap(([table, column]) => [
        `ALTER TABLE ${db}.${table} ADD INDEX IF NOT EXISTS ${column}_minmax ${column} TYPE minmax GRANULARITY 1`,
        `ALTER TABLE ${db}.${table} MATERIALIZE INDEX ${column}_minmax`,
      ]),
  },
  {
    version: 9,
    name: "analyzer references kept across restarts",
    statements: (db) => [analyzerReferencesDdl(db)],
  },
  {
    version: 10,
    name: "prediction id skip index, for finding late labels' predictions; prediction_ids retired",
    // Ids are mostly made in time order (sequential, UUIDv7), so per-granule min/max of the id let the
    // analyzers find the predictions that new labels refer to in `predictions` itself, reading a few
    // granules. The separate index they kept, sorted by id, cost every run an insert of what arrived (a
    // first run's 10 million ids: 1.6–1.8 s of its time), and is no longer read.
    statements: (db) => [
      `ALTER TABLE ${db}.predictions ADD INDEX IF NOT EXISTS prediction_id_minmax prediction_id TYPE minmax GRANULARITY 1`,
      `ALTER TABLE ${db}.predictions MATERIALIZE INDEX prediction_id_minmax`,
      `DROP TABLE IF EXISTS ${db}.prediction_ids`,
    ],
  },
  {
    version: 11,
    name: "deduplication window retired: a replayed insert checks which of its rows are stored",
    // Migration 2's window let a replay under the same token be dropped. But a plain MergeTree records the
    // token before the part is in place, so a process killed between the two left a token without rows and
    // the replay was dropped: acknowledged records lost. Inserts no longer carry tokens (store/client.ts).
    statements: (db) =>
      ["predictions", "labels"].map(
        (t) => `ALTER TABLE ${db}.${t} MODIFY SETTING non_replicated_deduplication_window = 0`,
      ),
  },
];

/** Migration 2's window (retired by 11): inserts per table whose tokens were remembered. */
const DEDUP_WINDOW = 1000;

/** Tables whose TTL follows `retentionDays`, with the time column it counts from. */
const RETAINED_TABLES = [
  ["predictions", "time"],
  ["labels", "time"],
  ["metrics", "window_start"],
  ["shadow_predictions", "time"],
] as const;

/**
 * Creates the database, applies the migrations not yet recorded in `schema_migrations`, and brings each
 * table's TTL in line with the configured retention. Throws StoreError("MIGRATION").
 */
export async function migrate(store: Store, options: SchemaOptions): Promise<{ applied: number[] }> {
  const db = store.database;
  const run = async (statement: string, what: string) => {
    // On a cluster each statement takes its cluster form (store/cluster.ts): one place decides it for all.
    const queries = store.cluster === undefined ? [statement] : onCluster(statement, store.cluster);
    for (const query of queries) {
      try {
        await store.client.command({ query });
      } catch (cause) {
        throw StoreError.from("MIGRATION", what, cause);
      }
    }
  };
  await run(`CREATE DATABASE IF NOT EXISTS ${db}`, `cannot create database ${db}`);
  await run(schemaMigrationsDdl(db), "cannot create schema_migrations");
  const done = new Set(await appliedVersions(store));
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    for (const statement of m.statements(db, options)) {
      await run(statement, `migration ${m.version} (${m.name}) failed`);
    }
    await store.client.insert({
      table: `${db}.schema_migrations`,
      values: [{ version: m.version, name: m.name }],
      format: "JSONEachRow",
    });
    applied.push(m.version);
  }
  for (const [table, column] of RETAINED_TABLES)
    await alignRetention(store, table, column, options.retentionDays);
  await store.prepareReader();
  return { applied };
}

function schemaMigrationsDdl(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations
     (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
     ENGINE = ReplacingMergeTree ORDER BY version`;
}

/** Every schema statement a fresh store runs, in order (the database, the bookkeeping, each migration's). */
export function schemaStatements(db: string, options: SchemaOptions): string[] {
  return [
    `CREATE DATABASE IF NOT EXISTS ${db}`,
    schemaMigrationsDdl(db),
    ...MIGRATIONS.flatMap((m) => m.statements(db, options)),
  ];
}

/** The newest schema version this build knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

async function appliedVersions(store: Store): Promise<number[]> {
  const rs = await store.client.query({
    query: `SELECT version FROM ${store.database}.schema_migrations FINAL`,
    format: "JSONEachRow",
  });
  const rows = await rs.json<{ version: number | string }>();
  return rows.map((r) => Number(r.version));
}

/** Changes a table's TTL only when it differs, without rewriting existing parts. */
async function alignRetention(store: Store, table: string, column: string, days: number): Promise<void> {
  const rs = await store.client.query({
    query:
      "SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = {table:String}",
    query_params: { db: store.database, table: localTable(table, store.cluster) },
    format: "JSONEachRow",
  });
  const [row] = await rs.json<{ create_table_query: string }>();
  const current = new RegExp(
    `TTL toDateTime\\(${column}\\) \\+ (?:INTERVAL (\\d+) DAY|toIntervalDay\\((\\d+)\\))`,
  ).exec(row?.create_table_query ?? "");
  const currentDays = Number(current?.[1] ?? current?.[2]);
  if (currentDays === days) return;
  try {
    await store.client.command({
      query: `ALTER TABLE ${store.mutationTarget(table)} MODIFY TTL toDateTime(${column}) + INTERVAL ${days} DAY`,
      // Expired parts are dropped by the background TTL merges; rewriting every part now would be costly.
      clickhouse_settings: { materialize_ttl_after_modify: 0 },
    });
  } catch (cause) {
    throw StoreError.from("MIGRATION", `cannot set retention of ${table} to ${days} days`, cause);
  }
}
