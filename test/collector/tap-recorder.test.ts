/** The tap's recorder: batches gathered over the linger, bounded, and written one at a time. */
import { describe, expect, it } from "vitest";
import type { CapturedCall } from "../../collector/inference/captured-call.js";
import { TapRecorder } from "../../collector/tap/recorder.js";

const call = (model: string): CapturedCall => ({
  reader: "inference",
  model,
  version: "",
  timeMs: 0,
  request: new Uint8Array(0),
  response: new Uint8Array(0),
});

describe("the tap's recorder", () => {
  it("writes what arrived over the linger as one batch, and what arrives during a write in the next", async () => {
    const batches: string[][] = [];
    let release: () => void = () => {};
    const recorder = new TapRecorder(
      (calls) => {
        batches.push(calls.map((c) => c.model));
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      100,
      () => {},
      30,
    );
    recorder.add(call("a"), 1);
    recorder.add(call("b"), 1);
    expect(batches).toEqual([]); // gathering
    await new Promise((r) => setTimeout(r, 60));
    expect(batches).toEqual([["a", "b"]]);
    recorder.add(call("c"), 1); // while a and b are being written
    await new Promise((r) => setTimeout(r, 60));
    expect(batches).toHaveLength(1); // one write at a time
    release();
    await new Promise((r) => setTimeout(r, 60));
    expect(batches).toEqual([["a", "b"], ["c"]]);
    release();
    await recorder.flush();
  });

  it("writes at once on flush, and counts what it cannot hold or write", async () => {
    const written: string[] = [];
    const dropped: Array<[number, string]> = [];
    let fail = false;
    const recorder = new TapRecorder(
      async (calls) => {
        if (fail) throw new Error("the store is down");
        written.push(...calls.map((c) => c.model));
      },
      10,
      (n, reason) => dropped.push([n, reason]),
      60_000,
    );
    recorder.add(call("a"), 8);
    recorder.add(call("b"), 8); // 16 > 10 held: dropped
    const started = performance.now();
    await recorder.flush();
    expect(performance.now() - started).toBeLessThan(1_000); // not the minute's linger
    expect(written).toEqual(["a"]);
    fail = true;
    recorder.add(call("c"), 3);
    await recorder.flush();
    expect(dropped).toEqual([
      [8, "queue_full"],
      [3, "write_failed"],
    ]);
  });
});
