/**
 * The tap on its own thread: batches of recorded calls reach the thread that started it to be written,
 * the proxy's counts follow, closing flushes what is held, and a port that cannot be bound is said.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCallBatch } from "../../collector/inference/call-batch.js";
import type { TapOutcome } from "../../collector/tap/proxy.js";
import { startTapThread, type TapThreadOptions } from "../../collector/tap/thread.js";
import { EventObjects } from "../helpers/event-objects.js";

const upstream = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    if (req.url?.includes("broken")) {
      res.writeHead(500).end("{}");
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        predictions: [
          [0.2, 0.8],
          [0.6, 0.4],
        ],
      }),
    );
  });
});
let upstreamUrl: URL;
beforeAll(async () => {
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  upstreamUrl = new URL(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
});
afterAll(() => new Promise((r) => upstream.close(r)));

function options(overrides: Partial<TapThreadOptions> = {}): TapThreadOptions {
  return {
    upstream: upstreamUrl,
    host: "127.0.0.1",
    port: 0,
    maxRecordBytes: 1 << 20,
    mappings: { churn: { classes: ["stay", "leave"] } },
    maxQueued: 1_000,
    write: async () => {},
    count: () => {},
    dropped: () => {},
    onError: () => {},
    ...overrides,
  };
}

describe("the tap on its own thread", () => {
  it("hands batches of recorded calls over to be written, counts what the proxy decides, flushes on close", async () => {
    const events = new EventObjects();
    const counted: Array<[TapOutcome, number]> = [];
    const tap = await startTapThread(
      options({
        write: async (batch, predictions) => {
          expect(readCallBatch(batch, events).recorded * 2).toBe(predictions);
        },
        count: (outcome, n) => counted.push([outcome, n]),
      }),
    );
    const call = (path: string) =>
      fetch(`http://127.0.0.1:${tap.port}${path}`, {
        method: "POST",
        headers: { "x-request-id": "r1" },
        body: JSON.stringify({ instances: [{ age: 30 }, { age: 60 }] }),
      });
    const ok = await call("/v1/models/churn:predict");
    expect(ok.headers.get("x-modelwatch-prediction-ids")).toBe("r1-0,r1-1");
    await ok.arrayBuffer();
    expect((await call("/v1/models/churn:predict")).status).toBe(200);
    expect((await call("/v1/models/broken:predict")).status).toBe(500);
    await tap.close(); // before the recorder's 20 ms: closing writes what it holds
    expect(events.events.map((e) => [e["ml.prediction.id"], e["ml.prediction.class"]])).toEqual([
      ["r1-0", "leave"],
      ["r1-1", "stay"],
      ["r1-0", "leave"],
      ["r1-1", "stay"],
    ]);
    expect(counted).toEqual([["upstream_error", 1]]);
  });

  it("counts what a failed write held as dropped", async () => {
    const dropped: Array<[number, string]> = [];
    const tap = await startTapThread(
      options({
        write: async () => {
          throw new Error("the store is down");
        },
        dropped: (n, reason) => dropped.push([n, reason]),
      }),
    );
    await (
      await fetch(`http://127.0.0.1:${tap.port}/v1/models/churn:predict`, {
        method: "POST",
        body: JSON.stringify({ instances: [1, 2] }),
      })
    ).arrayBuffer();
    await tap.close();
    expect(dropped).toEqual([[2, "write_failed"]]);
  });

  // /proc is Linux's; the priority is raised only where the process may (CAP_SYS_NICE, or RLIMIT_NICE).
  it.runIf(process.platform === "linux")(
    "names its thread and runs it above the default priority where that is permitted",
    async () => {
      const tap = await startTapThread(options());
      try {
        const nices = threadNices().filter(([name]) => name === "mw-tap");
        expect(nices).toHaveLength(1);
        expect(nices[0]?.[1]).toBe(mayRaisePriorityTo(-5) ? -5 : 0);
      } finally {
        await tap.close();
      }
    },
  );

  it("says why it cannot listen", async () => {
    const taken = createNetServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as AddressInfo).port;
    await expect(startTapThread(options({ port }))).rejects.toThrow(/EADDRINUSE/);
    taken.close();
  });
});

/** Each thread of this process: its name and its nice value (field 19 of its /proc stat). */
function threadNices(): Array<[string, number]> {
  return readdirSync("/proc/self/task").map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    // Fields after the name start at field 3 (the state), so field 19 is the 17th of them.
    return [stat.slice(stat.indexOf("(") + 1, close), Number(stat.slice(close + 2).split(" ")[16])];
  });
}

/**
 * Whether this process may set a thread's nice value as low as `nice`: with CAP_SYS_NICE in its effective
 * capabilities (root outside a container; containers drop it by default), or within its RLIMIT_NICE.
 */
function mayRaisePriorityTo(nice: number): boolean {
  const status = readFileSync("/proc/self/status", "utf8");
  const effective = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? "0"}`);
  const CAP_SYS_NICE = 23n;
  if ((effective >> CAP_SYS_NICE) & 1n) return true;
  // "Max nice priority" is the soft limit as 20 − the lowest nice value allowed.
  const limit = /^Max nice priority\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1];
  return 20 - Number(limit ?? 0) <= nice;
}
