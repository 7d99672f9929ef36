import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonOf, startTestService, type TestService } from "../helpers/service.js";

let service: TestService;
beforeAll(async () => {
  service = await startTestService({
    host: "127.0.0.1",
    "ingest-tokens": "tok-a, tok-b",
    "read-tokens": "reader",
  });
});
afterAll(async () => {
  await service?.stop();
});

const event = JSON.stringify({ event: "ml.prediction", "ml.model.name": "auth-model" });

describe("bearer tokens", () => {
  it.each([
    ["no token", undefined, 401],
    ["a wrong token", "Bearer tok-c", 401],
    ["a token of another kind", "Bearer reader", 401],
    ["a malformed header", "tok-a", 401],
    ["the first ingest token", "Bearer tok-a", 200],
    ["the second ingest token", "Bearer tok-b", 200],
  ])("ingest with %s answers %i", async (_name, authorization, status) => {
    const res = await fetch(`${service.url}/v1/events`, {
      method: "POST",
      body: event,
      headers: authorization ? { authorization } : {},
    });
    expect(res.status).toBe(status);
    if (status === 401) expect((await jsonOf(res)).error.message).toMatch(/ingest token/);
  });

  it("OTLP routes refuse without a token, in OTLP's error envelope", async () => {
    const res = await fetch(`${service.url}/v1/logs`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(401);
    expect(await jsonOf(res)).toEqual({ code: 16, message: expect.stringMatching(/ingest token/) });
  });

  it.each([
    ["no token", undefined, 401],
    ["an ingest token", "Bearer tok-a", 401],
    ["the read token", "Bearer reader", 200],
  ])("/sql with %s answers %i", async (_name, authorization, status) => {
    const res = await fetch(`${service.url}/sql?query=SELECT%201`, {
      headers: authorization ? { authorization } : {},
    });
    expect(res.status).toBe(status);
  });

  it.each([
    ["no token", undefined, 401],
    ["an ingest token", "Bearer tok-a", 401],
    ["the read token", "Bearer reader", 200],
  ])("/analyze with %s answers %i", async (_name, authorization, status) => {
    const res = await fetch(`${service.url}/analyze`, {
      method: "POST",
      body: "{}",
      headers: authorization ? { authorization } : {},
    });
    expect(res.status).toBe(status);
  });

  it("health, readiness and metrics need no token", async () => {
    for (const path of ["/healthz", "/readyz", "/metrics"])
      expect((await fetch(`${service.url}${path}`)).status).toBe(200);
  });
});
