import {
  appendFileSync,
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InsertSegmentRows, Spool, type SpoolEvents, type SpoolOptions } from "../../collector/index.js";
import {
  type Label,
  labelsRowBinary,
  migrate,
  PredictionRows,
  Store,
  StoreError,
} from "../../store/index.js";
import { emptyPrediction } from "../helpers/rows.js";
import { tempDir } from "../helpers/service.js";

const dir = tempDir();
let store: Store;
beforeAll(async () => {
  store = await Store.open({ database: "modelwatch", dataDir: join(dir.path, "store") });
  await migrate(store, { retentionDays: 90 });
});
afterAll(async () => {
  await store?.close();
  dir.remove();
});

let spoolCount = 0;
const options = (over: Partial<SpoolOptions> = {}): SpoolOptions => ({
  dir: join(dir.path, `spool-${++spoolCount}`),
  maxSegmentRecords: 10_000,
  flushIntervalMs: 60_000,
  maxBytes: 64 * 1024 * 1024,
  replay: { initialBackoffMs: 10, maxBackoffMs: 40, maxInvalidAttempts: 1_000 },
  ...over,
});

/** Inserts into the real store, recording each insert's rows (bytes) and when an earlier attempt was. */
function storeInsert(into: Store = store) {
  const calls: Array<{ table: string; bytes: number; earlierAttemptAtMs: number | undefined }> = [];
  const insert: InsertSegmentRows = async (table, rows, earlierAttemptAtMs) => {
    await into.insertRows(table, rows, earlierAttemptAtMs === undefined ? {} : { earlierAttemptAtMs });
    calls.push({ table, bytes: rows.reduce((sum, r) => sum + r.byteLength, 0), earlierAttemptAtMs });
  };
  return { calls, insert };
}

/** A store that is down: every insert fails as retryable, so segments stay on disk. */
const down: InsertSegmentRows = async () => {
  throw new StoreError("CONNECT", "the store is down", true);
};

let nextId = 0;
// Distinct prediction ids per model: labels is a ReplacingMergeTree, and repeated ids would collapse.
const labels = (model: string, n: number) => ({
  table: "labels" as const,
  records: n,
  rows: labelsRowBinary(
    Array.from(
      { length: n },
      (): Label => ({
        timeMs: Date.now(),
        model,
        predictionId: `p${nextId++}`,
        labelClass: "x",
        labelValue: null,
      }),
    ),
  ),
});

/** Predictions with distinct ids, `n` at each of the times given (predictions is a plain MergeTree). */
const predictions = (model: string, n: number, timesMs: readonly number[] = [Date.now()]) => {
  const rows = new PredictionRows();
  for (const timeMs of timesMs) {
    for (let i = 0; i < n; i++) {
      rows.add(
        emptyPrediction({
          timeMs,
          model,
          predictionId: `p${nextId++}`,
          predictedClass: "x",
          numericFeatures: new Map([["f", i]]),
        }),
      );
    }
  }
  return { table: "predictions" as const, records: rows.length, rows: Uint8Array.from(rows.bytes()) };
};

/** Rows stored for the model, and how many distinct prediction ids among them. */
const storedPredictions = async (model: string) => {
  const rs = await store.client.query({
    query: `SELECT count() AS n, uniqExact(prediction_id) AS ids FROM modelwatch.predictions
            WHERE model = {m:String}`,
    query_params: { m: model },
    format: "JSONEachRow",
  });
  const [row] = await rs.json<{ n: string; ids: string }>();
  return { rows: Number(row?.n), ids: Number(row?.ids) };
};

const stored = async (model: string) => {
  const rs = await store.client.query({
    query: "SELECT count() AS n FROM modelwatch.labels WHERE model = {m:String}",
    query_params: { m: model },
    format: "JSONEachRow",
  });
  return Number((await rs.json<{ n: string }>())[0]?.n);
};

const segments = (path: string) => readdirSync(path).filter((n) => n.endsWith(".seg"));

describe("the spool", () => {
  it("acknowledges writes once on disk and stores them when flushed", async () => {
    const s = storeInsert();
    const spool = await Spool.open(options(), s.insert);
    const outcomes = await Promise.all([spool.write([labels("ack", 3)]), spool.write([labels("ack", 4)])]);
    expect(outcomes).toEqual([{ ok: true }, { ok: true }]);
    expect(await stored("ack")).toBe(0); // the interval has not passed: still only in the spool
    expect(spool.bytes).toBeGreaterThan(0);
    await spool.flush();
    expect(await stored("ack")).toBe(7);
    expect(s.calls).toHaveLength(1); // both writes, one insert
    expect(spool.bytes).toBe(0);
    await spool.shutdown(1_000);
  });

  it("seals a segment at its record bound, so inserts never exceed it", async () => {
    const s = storeInsert();
    const spool = await Spool.open(options({ maxSegmentRecords: 100 }), s.insert);
    for (let i = 0; i < 5; i++) await spool.write([labels("bound", 60)]);
    await spool.flush();
    expect(await stored("bound")).toBe(300);
    // 60 | 60+60 sealed at 120 ≥ 100 | 60+60 sealed | 60 left for the flush: each insert ≤ 100 + one write.
    expect(s.calls.length).toBeGreaterThanOrEqual(3);
    await spool.shutdown(1_000);
  });

  it("inserts on its own once the interval has passed and the store is idle", async () => {
    const s = storeInsert();
    const spool = await Spool.open(options({ flushIntervalMs: 20 }), s.insert);
    await spool.write([labels("interval", 5)]);
    for (let i = 0; i < 100 && (await stored("interval")) < 5; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await stored("interval")).toBe(5);
    await spool.shutdown(1_000);
  });

  it("leaves what the store did not take on disk, and a later spool on the directory stores it", async () => {
    const o = options();
    const first = await Spool.open(o, down);
    await first.write([labels("later", 2)]);
    await first.write([labels("later", 3)]);
    const left = await first.shutdown(50);
    expect(left).toBeGreaterThan(0);
    expect(segments(o.dir)).toHaveLength(1);

    const second = await Spool.open(o, storeInsert().insert);
    await second.flush();
    expect(await stored("later")).toBe(5);
    expect(segments(o.dir)).toHaveLength(0);
    await second.shutdown(1_000);
  });

  it("stores a segment once when replayed again after a crash between its insert and its deletion", async () => {
    const o = options();
    const first = await Spool.open(o, down);
    await first.write([predictions("twice", 4)]);
    await first.shutdown(0);
    const [name] = segments(o.dir);
    const path = join(o.dir, name as string);
    const copy = join(dir.path, "segment-copy");
    copyFileSync(path, copy);
    const { atimeMs, mtimeMs } = statSync(path);

    const second = storeInsert();
    const spool2 = await Spool.open(o, second.insert);
    await spool2.flush();
    await spool2.shutdown(1_000);
    expect(await storedPredictions("twice")).toEqual({ rows: 4, ids: 4 });
    // Found at start, the segment may have been stored by an earlier run: the insert is told so.
    expect(second.calls[0]?.earlierAttemptAtMs).toBe(mtimeMs);
    copyFileSync(copy, path); // as if the deletion had never happened…
    utimesSync(path, atimeMs / 1000, mtimeMs / 1000); // …the file as the crash left it

    const third = storeInsert();
    const spool3 = await Spool.open(o, third.insert);
    await spool3.flush();
    expect(third.calls).toHaveLength(1); // replayed…
    expect(await storedPredictions("twice")).toEqual({ rows: 4, ids: 4 }); // …and nothing stored twice
    expect(segments(o.dir)).toHaveLength(0);
    await spool3.shutdown(1_000);
  });

  it("stores what an earlier run's insert left out, once, when that run died with part of it stored", async () => {
    // A segment spanning two days becomes two parts (predictions are partitioned by day); a process killed
    // mid-insert can leave one in place and not the other.
    const o = options();
    const first = await Spool.open(o, down);
    const yesterday = predictions("partly", 5, [Date.now() - 86_400_000]);
    const today = predictions("partly", 5);
    await first.write([yesterday, today]);
    await first.shutdown(0);
    await store.insertRows("predictions", yesterday.rows); // what the dead run's insert left in place

    const spool = await Spool.open(o, storeInsert().insert);
    await spool.flush();
    expect(await storedPredictions("partly")).toEqual({ rows: 10, ids: 10 });
    await spool.shutdown(1_000);
  });

  it("checks only the oldest segment found at start for rows already stored: the others were never tried", async () => {
    const o = options({ maxSegmentRecords: 1 }); // each write seals a segment
    const first = await Spool.open(o, down);
    for (const n of [2, 3, 4]) await first.write([predictions("backlog", n)]);
    await first.shutdown(0);
    expect(segments(o.dir)).toHaveLength(3);

    const s = storeInsert();
    const second = await Spool.open(o, s.insert);
    await second.flush();
    expect(s.calls.map((c) => c.earlierAttemptAtMs !== undefined)).toEqual([true, false, false]);
    expect(await storedPredictions("backlog")).toEqual({ rows: 9, ids: 9 });
    await second.shutdown(1_000);
  });

  it("stores a segment once when the store took it but its answer was lost, and the retry repeats it", async () => {
    const s = storeInsert();
    let answered = 0;
    const spool = await Spool.open(options(), async (table, rows, earlierAttemptAtMs) => {
      await s.insert(table, rows, earlierAttemptAtMs);
      if (answered++ === 0) throw new StoreError("INSERT", "connection reset by peer", true);
    });
    await spool.write([predictions("lost-answer", 6)]);
    await spool.flush();
    expect(s.calls.map((c) => c.earlierAttemptAtMs === undefined)).toEqual([true, false]);
    expect(await storedPredictions("lost-answer")).toEqual({ rows: 6, ids: 6 });
    await spool.shutdown(1_000);
  });

  it("skips a torn tail (a write cut short by a crash) and keeps every whole frame before it", async () => {
    const o = options();
    const first = await Spool.open(o, down);
    await first.write([labels("torn", 6)]);
    await first.shutdown(0);
    const path = join(o.dir, segments(o.dir)[0] as string);
    const whole = readFileSync(path);
    appendFileSync(path, whole.subarray(0, 31)); // the start of a second frame, cut off

    const damaged: number[] = [];
    const events: SpoolEvents = { damaged: (_s, validBytes) => damaged.push(validBytes) };
    const second = await Spool.open(o, storeInsert().insert, events);
    await second.flush();
    expect(await stored("torn")).toBe(6);
    expect(damaged).toEqual([whole.length]);
    await second.shutdown(1_000);
  });

  it("stops at a frame whose checksum fails: nothing after it is trusted", async () => {
    const o = options();
    const first = await Spool.open(o, down);
    await first.write([labels("crc", 2)]);
    const oneFrame = first.bytes;
    await first.write([labels("crc", 3)]);
    await first.shutdown(0);
    const path = join(o.dir, segments(o.dir)[0] as string);
    const bytes = readFileSync(path);
    bytes[oneFrame + 40] = (bytes[oneFrame + 40] ?? 0) ^ 0xff; // a bit flip in the second frame's rows
    writeFileSync(path, bytes);

    const second = await Spool.open(o, storeInsert().insert);
    await second.flush();
    expect(await stored("crc")).toBe(2);
    await second.shutdown(1_000);
  });

  it("refuses writes past its size bound, and takes them again once the store caught up", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const s = storeInsert();
    const o = options({ maxBytes: 4_000, flushIntervalMs: 0 });
    const spool = await Spool.open(o, async (table, rows, earlier) => {
      await gate;
      await s.insert(table, rows, earlier);
    });
    const outcomes = [];
    for (let i = 0; i < 10; i++) outcomes.push(await spool.write([labels("full", 20)]));
    const refused = outcomes.filter((w) => !w.ok);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]).toMatchObject({
      ok: false,
      reason: "overloaded",
      message: expect.stringMatching(/spool/),
    });
    release();
    await spool.flush();
    expect(await stored("full")).toBe(20 * (10 - refused.length));
    expect(await spool.write([labels("full", 1)])).toEqual({ ok: true });
    await spool.shutdown(1_000);
  });

  it("retries a failing store with back-off until it takes the rows", async () => {
    const later = await Store.open({ database: "not_yet", dataDir: join(dir.path, "store") });
    // A database not migrated yet: the inserts fail until its tables exist.
    const failures: number[] = [];
    const spool = await Spool.open(options({ flushIntervalMs: 0 }), storeInsert(later).insert, {
      failed: (_s, _e, attempt) => failures.push(attempt),
    });
    await spool.write([labels("retry", 3)]);
    for (let i = 0; i < 100 && failures.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(failures.slice(0, 2)).toEqual([1, 2]);
    await migrate(later, { retentionDays: 90 });
    await spool.flush();
    const rs = await store.client.query({
      query: "SELECT count() AS n FROM not_yet.labels WHERE model = 'retry'",
      format: "JSONEachRow",
    });
    expect(Number((await rs.json<{ n: string }>())[0]?.n)).toBe(3);
    await spool.shutdown(1_000);
  });

  it("sets aside a segment the store keeps refusing as invalid, and goes on with the next", async () => {
    const o = options({
      flushIntervalMs: 0,
      replay: { initialBackoffMs: 1, maxBackoffMs: 1, maxInvalidAttempts: 3 },
    });
    let calls = 0;
    const quarantined: string[] = [];
    const s = storeInsert();
    const spool = await Spool.open(
      o,
      async (table, rows, earlier) => {
        if (calls++ < 3) throw new StoreError("INSERT", "Cannot parse input", false);
        await s.insert(table, rows, earlier);
      },
      { quarantined: (_s, movedTo) => quarantined.push(movedTo) },
    );
    await spool.write([labels("poison", 2)]);
    await spool.flush();
    await spool.write([labels("healthy", 3)]);
    await spool.flush();
    expect(quarantined).toHaveLength(1);
    expect(existsSync(quarantined[0] as string)).toBe(true);
    expect(await stored("poison")).toBe(0);
    expect(await stored("healthy")).toBe(3);
    await spool.shutdown(1_000);
  });

  it("refuses writes once stopping, after making the pending ones durable", async () => {
    const spool = await Spool.open(options(), storeInsert().insert);
    const pending = spool.write([labels("stop", 2)]);
    await spool.shutdown(1_000);
    expect(await pending).toEqual({ ok: true });
    expect(await stored("stop")).toBe(2);
    expect(await spool.write([labels("stop", 1)])).toMatchObject({ ok: false, reason: "shutdown" });
  });
});
