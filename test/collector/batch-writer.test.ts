import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchWriter, type BatchWriterOptions } from "../../collector/index.js";
import { type Label, labelsRowBinary, migrate, Store } from "../../store/index.js";
import { tempDir } from "../helpers/service.js";

const dir = tempDir();
let store: Store;
beforeAll(async () => {
  store = await Store.open({ database: "modelwatch", dataDir: dir.path });
  await migrate(store, { retentionDays: 90 });
});
afterAll(async () => {
  await store?.close();
  dir.remove();
});

/** Inserts into the real labels table, recording each insert's size; `hold` keeps inserts waiting. */
function gatedInsert() {
  const inserts: number[] = [];
  let release: () => void = () => {};
  let gate: Promise<void> = Promise.resolve();
  return {
    inserts,
    hold() {
      gate = new Promise((r) => {
        release = r;
      });
    },
    open: () => release(),
    insert: async (rows: Uint8Array, records: number) => {
      await gate;
      inserts.push(records);
      await store.insertRows("labels", rows);
    },
  };
}

let nextId = 0;
// Distinct prediction ids: labels is a ReplacingMergeTree, and repeated ids would collapse in merges.
const labels = (model: string, n: number) =>
  labelsRowBinary(
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
  );

const stored = async (model: string) => {
  const rs = await store.client.query({
    query: "SELECT count() AS n FROM modelwatch.labels WHERE model = {m:String}",
    query_params: { m: model },
    format: "JSONEachRow",
  });
  return Number((await rs.json<{ n: string }>())[0]?.n);
};

const options: BatchWriterOptions = { maxBatchRecords: 100, flushIntervalMs: 20, maxQueueRecords: 1_000 };

describe("BatchWriter", () => {
  it("resolves a write only once its rows are in the store", async () => {
    const g = gatedInsert();
    const writer = new BatchWriter(g.insert, options);
    const outcome = await writer.write(labels("w1", 3), 3);
    expect(outcome).toEqual({ ok: true });
    expect(await stored("w1")).toBe(3);
  });

  it("joins writes that arrive within the interval into one insert, and flushes at the size bound", async () => {
    const g = gatedInsert();
    const writer = new BatchWriter(g.insert, options);
    await Promise.all([writer.write(labels("w2", 10), 10), writer.write(labels("w2", 20), 20)]);
    expect(g.inserts).toEqual([30]);
    await writer.write(labels("w2", 150), 150); // over maxBatchRecords: flushed at once, not after the interval
    expect(g.inserts).toEqual([30, 150]);
    expect(await stored("w2")).toBe(180);
  });

  it("keeps one insert in flight; writes meanwhile form the next batch; a full queue is refused, not buffered", async () => {
    const g = gatedInsert();
    const writer = new BatchWriter(g.insert, { ...options, maxQueueRecords: 250 });
    g.hold();
    const first = writer.write(labels("w3", 100), 100);
    await new Promise((r) => setTimeout(r, 30));
    const second = writer.write(labels("w3", 50), 50);
    const third = writer.write(labels("w3", 50), 50);
    const refused = await writer.write(labels("w3", 60), 60);
    expect(refused).toMatchObject({ ok: false, reason: "overloaded" });
    expect(writer.queuedRecords).toBe(200);
    g.open();
    expect(await Promise.all([first, second, third])).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(g.inserts).toEqual([100, 100]);
    expect(await stored("w3")).toBe(200);
  });

  it("reports a failed insert to every writer of the batch, and stores none of it", async () => {
    const writer = new BatchWriter(
      // A truncated row at the end: the engine refuses the whole insert.
      (rows) => store.insertRows("labels", Buffer.concat([rows, Buffer.from([0x01, 0x02])])),
      options,
    );
    const outcome = await writer.write(labels("w4", 5), 5);
    expect(outcome).toMatchObject({ ok: false, reason: "store_failed" });
    expect(outcome.ok ? "" : outcome.message).toMatch(/insert into labels failed/);
    expect(await stored("w4")).toBe(0);
  });

  it("shutdown flushes what is queued and refuses later writes", async () => {
    const g = gatedInsert();
    const writer = new BatchWriter(g.insert, { ...options, flushIntervalMs: 60_000 });
    const pending = writer.write(labels("w5", 7), 7);
    await writer.shutdown();
    expect(await pending).toEqual({ ok: true });
    expect(await writer.write(labels("w5", 1), 1)).toMatchObject({ ok: false, reason: "shutdown" });
    expect(await stored("w5")).toBe(7);
    await writer.shutdown(); // a second call is harmless
  });
});
