import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonOf, startTestService, type TestService } from "../helpers/service.js";

let service: TestService;
beforeAll(async () => {
  service = await startTestService({
    host: "127.0.0.1",
    "ingest-tokens": "tok-a,tok-b",
    "ingest-rate-limit": "1",
  });
});
afterAll(async () => {
  await service?.stop();
});

const post = (path: string, token: string, body: string, type = "application/x-ndjson") =>
  fetch(`${service.url}${path}`, {
    method: "POST",
    body,
    headers: { authorization: `Bearer ${token}`, "content-type": type },
  });
const event = JSON.stringify({ event: "ml.prediction", "ml.model.name": "rate-model" });

describe("the ingest rate limit", () => {
  it("takes a burst of the limit per token, then answers 429 with Retry-After; other tokens go on", async () => {
    // One fits the bucket (burst = rate = 1 a second); the next within the second does not.
    const statuses = [];
    for (let i = 0; i < 2; i++) statuses.push((await post("/v1/events", "tok-a", event)).status);
    expect(statuses).toEqual([200, 429]);
    const refused = await post("/v1/events", "tok-a", event);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await jsonOf(refused)).error).toMatchObject({
      code: "rate_limited",
      message: expect.stringMatching(/retry in \d+ s/),
    });
    // OTLP gets the refusal as a google.rpc.Status with RESOURCE_EXHAUSTED (8), which exporters retry.
    const otlp = await post("/v1/logs", "tok-a", "{}", "application/json");
    expect(otlp.status).toBe(429);
    expect(await jsonOf(otlp)).toMatchObject({ code: 8 });
    expect((await post("/v1/events", "tok-b", event)).status).toBe(200);
  });

  it("refills at the rate", async () => {
    await new Promise((r) => setTimeout(r, 1100));
    expect((await post("/v1/events", "tok-a", event)).status).toBe(200);
  });
});
