import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { random } from "../helpers/fixtures.js";
import { logsBody, logsResponse } from "../helpers/otlp.js";
import { startTestService, type TestService } from "../helpers/service.js";

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.stop();
});

const RECORDS = 20;
const valid = Buffer.from(
  logsBody(
    Array.from({ length: RECORDS }, (_, i) => ({
      eventName: "ml.prediction",
      attributes: {
        "ml.model.name": "corpus",
        "ml.prediction.id": `p${i}`,
        "ml.prediction.class": i % 2 ? "a" : "b",
        "ml.feature.x": i * 1.5,
        "ml.feature.plan": "pro",
      },
    })),
  ),
);

const stored = async () =>
  Number((await service.rows<{ n: number }>("SELECT count() AS n FROM modelwatch.predictions"))[0]?.n);

describe("a bad-input corpus against the running service", () => {
  it("answers every mutated OTLP body with 200 or 400, stores nothing of a refused one, and stays up", {
    timeout: 120_000,
  }, async () => {
    const rand = random(2026);
    const answers = new Map<number, number>();
    const ROUNDS = 200;
    let before = await stored();
    for (let round = 0; round < ROUNDS; round++) {
      const b = Buffer.from(valid);
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const cut = rand() < 0.1 ? Math.floor(rand() * b.length) : b.length;
      const res = await fetch(`${service.url}/v1/logs`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf" },
        body: b.subarray(0, cut),
      });
      answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
      const answer = new Uint8Array(await res.arrayBuffer());
      const after = await stored();
      if (res.status === 200) {
        // A 200 stores at most what the body held, less what partial_success says it refused.
        const rejected = Number(logsResponse(answer).partialSuccess?.rejectedLogRecords ?? 0);
        expect(after - before).toBeLessThanOrEqual(RECORDS * 2 - rejected);
      } else {
        expect(after - before, `status ${res.status} stored rows`).toBe(0);
      }
      before = after;
    }
    expect(
      [...answers.keys()].every((s) => s === 200 || s === 400),
      JSON.stringify([...answers]),
    ).toBe(true);
    expect(answers.get(400)).toBeGreaterThan(0);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    console.log(
      `bad-input corpus: ${ROUNDS} mutated OTLP bodies → ${JSON.stringify(Object.fromEntries(answers))}`,
    );
  });
});
