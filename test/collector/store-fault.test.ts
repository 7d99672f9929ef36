import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreError } from "../../store/index.js";
import { jsonOf, startTestService, type TestService } from "../helpers/service.js";

// The store fails every insert while `down` is set, as an unreachable ClickHouse server would.
let down = false;
let service: TestService;
beforeAll(async () => {
  service = await startTestService(
    { "spool-max-mb": "1", "batch-flush-interval-ms": "5" },
    {},
    {
      insertFault: () =>
        down ? new StoreError("CONNECT", "the store is unreachable (fault injected)", true) : undefined,
    },
  );
});
afterAll(async () => {
  await service?.stop();
});

let nextId = 0;
/** A request of 200 uniquely identified predictions with some weight (~60 KB), as NDJSON. */
function body(): { ids: string[]; text: string } {
  const ids = Array.from({ length: 200 }, () => `f${nextId++}`);
  const text = ids
    .map((id) =>
      JSON.stringify({
        event: "ml.prediction",
        "ml.model.name": "fault",
        "ml.prediction.id": id,
        "ml.segment.pad": "x".repeat(200),
      }),
    )
    .join("\n");
  return { ids, text };
}

describe("while the store is down", () => {
  it("acknowledges into the spool, answers 503 at its bound, and stores everything exactly once when the store returns", {
    timeout: 60_000,
  }, async () => {
    down = true;
    const acknowledged: string[] = [];
    let offered = 0;
    let refused: Response | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const { ids, text } = body();
      offered += ids.length;
      const res = await fetch(`${service.url}/v1/events`, { method: "POST", body: text });
      if (res.status === 200) acknowledged.push(...ids);
      else refused = res;
    }
    // Some requests went into the spool, then the 1 MB bound turned the next one away, asking for a retry.
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(refused?.status).toBe(503);
    expect(Number(refused?.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await jsonOf(refused as Response)).error.message).toMatch(
      /spool holds .* MB waiting for the store/,
    );

    down = false;
    const rows = await service.rows<{ prediction_id: string; n: number }>(
      "SELECT prediction_id, count() AS n FROM modelwatch.predictions WHERE model = 'fault' GROUP BY prediction_id",
    );
    const stored = new Map(rows.map((r) => [r.prediction_id, Number(r.n)]));
    expect(acknowledged.filter((id) => stored.get(id) !== 1)).toEqual([]);
    expect(stored.size).toBe(acknowledged.length); // nothing refused was stored either
    console.log(
      `store fault: offered ${offered}, acknowledged ${acknowledged.length}, stored ${stored.size}, lost 0`,
    );
  });

  it("lets an analysis run on what is stored when the spool cannot reach the store", {
    timeout: 60_000,
  }, async () => {
    down = true;
    try {
      const res = await fetch(`${service.url}/v1/events`, { method: "POST", body: body().text });
      expect(res.status).toBe(200); // in the spool, not in the store
      const started = performance.now();
      const analysis = await fetch(`${service.url}/analyze`, { method: "POST", body: "{}" });
      expect(analysis.status).toBe(200);
      // It waited for the spool a bounded time (10 s), then analysed what the store holds.
      expect(performance.now() - started).toBeLessThan(20_000);
    } finally {
      down = false;
    }
  });
});
