import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonOf, startTestService, type TestService } from "../helpers/service.js";

let service: TestService;
beforeAll(async () => {
  service = await startTestService({ "max-inflight-mb": "1", "ingest-rate-limit": "0" });
});
afterAll(async () => {
  await service?.stop();
});

/** NDJSON predictions of about `bytes` bytes in all, for `model`. */
function events(model: string, bytes: number): { body: Buffer; count: number } {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = JSON.stringify({
      event: "ml.prediction",
      "ml.model.name": model,
      "ml.prediction.id": `${model}-${i}`,
    });
    lines.push(line);
    size += line.length + 1;
  }
  return { body: Buffer.from(`${lines.join("\n")}\n`), count: lines.length };
}

/** Starts a request whose body is sent only in part; `finish` sends the rest and resolves with the status. */
function slowRequest(body: Buffer): { finish: () => Promise<number> } {
  const req = request(`${service.url}/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson", "content-length": body.length },
  });
  const status = new Promise<number>((resolve, reject) => {
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
  });
  req.write(body.subarray(0, 1024));
  return {
    finish: () => {
      req.end(body.subarray(1024));
      return status;
    },
  };
}

describe("the in-flight bound", () => {
  it("refuses a request unread with 503 and Retry-After while the bound is taken, then takes requests again", async () => {
    const held = events("held", 800 * 1024);
    const slow = slowRequest(held.body);
    const other = events("other", 400 * 1024);
    let refused: Response | undefined;
    // The held request counts once its headers are in; until then the other may pass, so try a few times.
    for (let i = 0; i < 40 && !refused; i++) {
      const res = await fetch(`${service.url}/v1/events`, {
        method: "POST",
        body: other.body,
        headers: { "content-type": "application/x-ndjson" },
      });
      if (res.status === 503) refused = res;
      else await res.arrayBuffer();
      if (!refused) await new Promise((r) => setTimeout(r, 25));
    }
    expect(refused?.status).toBe(503);
    expect(Number(refused?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(refused?.headers.get("connection")).toBe("close");
    expect((await jsonOf(refused as Response)).error).toMatchObject({
      code: "overloaded",
      message: expect.stringMatching(/bound 1\.0 MB/),
    });

    expect(await slow.finish()).toBe(200);
    const after = await fetch(`${service.url}/v1/events`, {
      method: "POST",
      body: other.body,
      headers: { "content-type": "application/x-ndjson" },
    });
    expect(after.status).toBe(200);
    const [stored] = await service.rows<{ n: number }>(
      "SELECT count() AS n FROM modelwatch.predictions WHERE model = 'held'",
    );
    expect(stored?.n).toBe(held.count);
  });
});
