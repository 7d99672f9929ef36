import { closeSync, mkdirSync, openSync, readdirSync, rmSync, writevSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import {
  type ClickHouseClient,
  type ClickHouseSettings,
  createClient,
  type DataFormat,
} from "@clickhouse/client";
import { mutationTarget } from "./cluster.js";
import { embeddedConnection, pooledEmbeddedConnection } from "./embedded-connection.js";
import { lowerEngineThreadPriority } from "./engine-threads.js";
import { clickhouseCode, StoreError } from "./errors.js";
import { INSERT_LAYOUTS, type InsertTable } from "./tables/index.js";

/** How to reach the store. Parsed and validated by the caller (bin/config). */
export interface StoreOptions {
  /** A ClickHouse server or cluster (`http(s)://host:8123`); unset → embedded chdb at `dataDir`. */
  url?: string;
  username?: string;
  password?: string;
  /** Database holding modelwatch's tables; a plain identifier. */
  database: string;
  /** Embedded mode's data directory. */
  dataDir: string;
  /**
   * A ClickHouse cluster (its name in the servers' `remote_servers`): the schema is created ON CLUSTER, with
   * replicated tables behind Distributed ones (store/cluster.ts). Only with `url`.
   */
  cluster?: string;
}

export type StoreMode = "embedded" | "server";

export interface InsertOptions {
  /**
   * Set when an earlier attempt at these same rows may have stored some of them (it failed, or its process
   * died mid-insert), to when that attempt started at the earliest (epoch ms). Rows the table already holds,
   * by model, prediction id and event time, among those that arrived since then, are left out.
   *
   * Rows are checked rather than trusting a deduplication token: a plain MergeTree records an insert's
   * token before the part it names is in place, so a process killed between the two leaves a token with
   * no rows, and a repeat under that token was dropped: acknowledged records lost.
   */
  earlierAttemptAtMs?: number;
}

/** Output formats a read-only query may ask the engine for. */
export interface ReadOnlyQuery {
  sql: string;
  /** Engine format used when the SQL has no FORMAT clause (ClickHouse's `default_format`). */
  defaultFormat: string;
  /** Values for `{name:Type}` placeholders. */
  params?: Record<string, string>;
}

/** The nice value of the embedded engine's threads (the process's own threads keep theirs, 0). */
const ENGINE_NICE = 10;

/**
 * Embedded mode's read-write connections: the analyzers run two model versions at once, and an insert can
 * go beside them (see pooledEmbeddedConnection).
 */
const WRITER_CONNECTIONS = 3;

/**
 * How far the clock stamping each row's arrival may run behind ours when a repeat looks for the rows an
 * earlier attempt stored. Embedded, it is this process's own clock; a server's is kept within well under a
 * second by NTP. Past the margin a repeat would store rows twice, never lose them; within it, each repeat
 * reads what arrived in that time, so the margin stays small.
 */
const ARRIVAL_CLOCK_MARGIN_MS: Record<StoreMode, number> = { embedded: 1_000, server: 60_000 };

/** The column each table stamps with a row's arrival (the server's clock, at insert). */
const ARRIVAL_COLUMN: Record<InsertTable, string> = {
  predictions: "ingest_time",
  labels: "ingest_time",
  shadow_predictions: "run_time",
};

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Limits applied to analyst queries before the read-only lock is taken. */
const READ_ONLY_LIMITS = ["SET max_execution_time = 60", "SET max_result_bytes = 1073741824"];

/**
 * The one database API: `@clickhouse/client`, over HTTP to a server or over `chdb/connection` in process.
 * Writers and analyst queries use separate connections, so the engine's `readonly` setting can be locked on
 * the latter without touching the former.
 */
export class Store {
  private insertSeq = 0;

  private constructor(
    readonly mode: StoreMode,
    readonly database: string,
    /** The read-write client; SQL must qualify tables with `database`. */
    readonly client: ClickHouseClient,
    private readonly reader: ClickHouseClient,
    /** The ClickHouse cluster the schema spans, when it spans one. */
    readonly cluster?: string,
    /** Embedded mode: where insert files are handed to the engine. */
    private readonly insertDir?: string,
    /** Embedded mode: stops lowering the engine threads' priority. */
    private readonly stopPriority: () => void = () => {},
  ) {}

  /** Connects (or opens the embedded data directory). Throws StoreError("CONFIG" | "CONNECT"). */
  static async open(options: StoreOptions): Promise<Store> {
    if (!IDENTIFIER.test(options.database)) {
      throw new StoreError(
        "CONFIG",
        `database name ${JSON.stringify(options.database)} is not a plain identifier`,
        false,
      );
    }
    if (options.cluster !== undefined && !options.url)
      throw new StoreError("CONFIG", "a cluster needs a ClickHouse server (CLICKHOUSE_URL)", false);
    if (options.url) {
      // On a cluster, joins on prediction id run on each shard (events are sharded by it), and an insert is
      // acknowledged once the shards have it, not when it is queued for them.
      const clusterSettings: ClickHouseSettings =
        options.cluster === undefined
          ? {}
          : { distributed_product_mode: "local", distributed_foreground_insert: 1 };
      const common = {
        url: options.url,
        username: options.username ?? "default",
        password: options.password ?? "",
        request_timeout: 60_000,
        compression: { request: false, response: false },
      };
      const client = createClient({ ...common, clickhouse_settings: clusterSettings });
      const reader = createClient({
        ...common,
        database: options.database,
        clickhouse_settings: { ...clusterSettings, readonly: "1" },
      });
      const store = new Store("server", options.database, client, reader, options.cluster);
      await store.assertReachable(options.url);
      return store;
    }
    let client: ClickHouseClient;
    let reader: ClickHouseClient;
    try {
      client = createClient({ connection: pooledEmbeddedConnection(options.dataDir, WRITER_CONNECTIONS) });
      reader = createClient({ connection: embeddedConnection(options.dataDir) });
    } catch (cause) {
      throw StoreError.from("CONNECT", `cannot open the embedded store at ${options.dataDir}`, cause);
    }
    const insertDir = join(options.dataDir, "modelwatch_inserts");
    mkdirSync(insertDir, { recursive: true });
    removeOrphanedInserts(insertDir);
    // The engine shares this process's cores with ingest; its merges and inserts can wait, senders cannot.
    const stopPriority = lowerEngineThreadPriority(ENGINE_NICE);
    return new Store("embedded", options.database, client, reader, undefined, insertDir, stopPriority);
  }

  /** What an ALTER or DELETE of `table` names: the table, or on a cluster its local tables ON CLUSTER. */
  mutationTarget(table: string): string {
    return mutationTarget(this.database, table, this.cluster);
  }

  /** Called once the database exists: locks the analyst connection to read-only in embedded mode. */
  async prepareReader(): Promise<void> {
    if (this.mode !== "embedded") return;
    // chdb keeps SET and USE per session, so this connection stays read-only for its lifetime.
    for (const statement of [...READ_ONLY_LIMITS, `USE ${this.database}`, "SET readonly = 1"]) {
      await this.reader.command({ query: statement });
    }
  }

  /**
   * Inserts RowBinary rows (laid out as INSERT_LAYOUTS[table] says). Throws StoreError("INSERT").
   *
   * A server takes them as a binary request body. `chdb/connection` passes bodies to the engine as text, so
   * in embedded mode the rows are written to a file beside the store and the engine reads it with `file()`
   * (measured: ~4 µs a row, against ~20 µs for the same rows as TSV or as base64 inside the statement).
   */
  async insertRows(
    table: InsertTable,
    rowBinary: Uint8Array | readonly Uint8Array[],
    options: InsertOptions = {},
  ): Promise<void> {
    // Rows may come in pieces (a spool segment's frames), written out one after another without joining.
    const chunks = (Array.isArray(rowBinary) ? rowBinary : [rowBinary]).filter((c) => c.byteLength > 0);
    if (chunks.length === 0) return;
    const { columns, structure } = INSERT_LAYOUTS[table];
    const target = `${this.database}.${table} (${columns.join(", ")})`;
    const since = options.earlierAttemptAtMs;
    /** The rows read from `from`, less those already stored when this repeats an earlier attempt. */
    const select = (from: string) =>
      since === undefined
        ? `SELECT * FROM ${from}`
        : `SELECT * FROM ${from}
           WHERE (model, prediction_id, time) NOT IN (
             SELECT model, prediction_id, time FROM ${this.database}.${table}
             WHERE ${ARRIVAL_COLUMN[table]} >= fromUnixTimestamp64Milli(toInt64(${Math.floor(since - ARRIVAL_CLOCK_MARGIN_MS[this.mode])})))`;
    // Repeats are found by their rows (see InsertOptions), so the engine's own block deduplication, which
    // could drop a legitimate second insert of identical rows, stays off.
    const clickhouse_settings = { insert_deduplicate: 0 as const };
    try {
      if (this.insertDir === undefined) {
        const result = await this.client.exec({
          query:
            since === undefined
              ? `INSERT INTO ${target} FORMAT RowBinary`
              : `INSERT INTO ${target} ${select(`input('${structure}')`)} FORMAT RowBinary`,
          clickhouse_settings,
          values: Readable.from(
            chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)),
            { objectMode: false },
          ),
        });
        await drain(result.stream);
        return;
      }
      const path = join(this.insertDir, `${table}-${process.pid}-${++this.insertSeq}.rowbinary`);
      // One synchronous write into the page cache (~1 ms for a few MB): fs.promises.writeFile writes in
      // chunks, each waiting for a turn of a busy event loop (measured: 45 ms instead of 4 under load).
      writeChunksSync(path, chunks);
      try {
        await this.client.command({
          query: `INSERT INTO ${target} ${select(`file({path:String}, RowBinary, '${structure}')`)}`,
          query_params: { path },
          clickhouse_settings,
        });
      } finally {
        rmSync(path, { force: true });
      }
    } catch (cause) {
      throw StoreError.from("INSERT", `insert into ${table} failed`, cause);
    }
  }

  /**
   * Runs an analyst's query with the engine's `readonly` setting, returning the engine-formatted bytes.
   * Throws StoreError("READONLY") when the engine refused a write or a settings change, ("QUERY") otherwise.
   */
  async queryReadOnly(q: ReadOnlyQuery): Promise<Buffer> {
    try {
      const result = await this.reader.exec({
        query: q.sql,
        query_params: q.params,
        // Any engine format name; the engine rejects an unknown one with a clear error.
        clickhouse_settings: { default_format: q.defaultFormat as DataFormat },
      });
      return await collect(result.stream);
    } catch (cause) {
      // 164 READONLY: a write or a settings change refused by the engine's readonly setting.
      throw StoreError.from(clickhouseCode(cause) === "164" ? "READONLY" : "QUERY", "query failed", cause);
    }
  }

  /**
   * Runs a SELECT and returns its rows in RowBinary, for readers that decode them directly (no JSON between
   * the engine and typed arrays). Throws StoreError("QUERY").
   */
  async queryRowBinary(sql: string, params: Record<string, unknown>): Promise<Buffer> {
    try {
      const result = await this.client.exec({ query: `${sql}\nFORMAT RowBinary`, query_params: params });
      return await collect(result.stream);
    } catch (cause) {
      throw StoreError.from("QUERY", "query failed", cause);
    }
  }

  /** True when the engine answers a trivial query. */
  async ping(): Promise<boolean> {
    const result = await this.client.ping();
    return result.success;
  }

  async close(): Promise<void> {
    this.stopPriority();
    await this.reader.close();
    await this.client.close();
  }

  private async assertReachable(url: string): Promise<void> {
    const result = await this.client.ping();
    if (!result.success) {
      throw StoreError.from("CONNECT", `ClickHouse at ${url} did not answer`, result.error);
    }
  }
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/**
 * Removes insert files left by a process that died mid-insert. Their rows were never acknowledged (the
 * request is answered after the insert), so the senders retry them; files of live processes are kept.
 */
function removeOrphanedInserts(dir: string): void {
  for (const name of readdirSync(dir)) {
    const pid = Number(/^[a-z]+-(\d+)-\d+\.rowbinary$/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid))
      rmSync(join(dir, name), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // The insert answers with an empty body; reading it to the end frees the HTTP socket.
  }
}

/** Writes the chunks to a new file, in order. */
function writeChunksSync(path: string, chunks: readonly Uint8Array[]): void {
  const buffers = chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  const fd = openSync(path, "w");
  try {
    // writev takes at most IOV_MAX (1024) buffers a call, and may write fewer bytes than asked.
    let next = 0;
    while (next < buffers.length) {
      let written = writevSync(fd, buffers.slice(next, next + 1024));
      while (written > 0) {
        const first = buffers[next] as Buffer;
        if (written < first.length) {
          buffers[next] = first.subarray(written);
          break;
        }
        written -= first.length;
        next++;
      }
    }
  } finally {
    closeSync(fd);
  }
}
