import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { denseSoftmaxModel } from "../../bench/onnx-models.js";
import { jsonOf, startTestService, type TestService, tempDir } from "../helpers/service.js";

const models = tempDir("modelwatch-models-");
let service: TestService;
const WRITE = { authorization: "Bearer writer-token" };
const READ = { authorization: "Bearer reader-token" };
const QUEUE = 100;

beforeAll(async () => {
  writeFileSync(join(models.path, "lr.onnx"), denseSoftmaxModel([{ weights: [[1, -1]], bias: [0, 0] }]));
  service = await startTestService({
    "models-dir": models.path,
    "shadow-queue-records": String(QUEUE),
    "ingest-tokens": "writer-token",
    "read-tokens": "reader-token",
    host: "127.0.0.1",
  });
});
afterAll(async () => {
  await service?.stop();
  models.remove();
});

const spec = {
  name: "lr",
  shadows: "m",
  file: "lr.onnx",
  input: { features: ["x"] },
  output: { kind: "probabilities", classes: ["a", "b"] },
};

describe("the shadow endpoints", () => {
  it("list with a read token and change with an ingest token only", async () => {
    const url = `${service.url}/shadow/candidates`;
    const post = (headers: Record<string, string>) =>
      fetch(url, { method: "POST", headers, body: JSON.stringify(spec) });
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: WRITE })).status).toBe(401);
    expect((await fetch(url, { headers: READ })).status).toBe(200);
    expect((await post({})).status).toBe(401);
    expect((await post(READ)).status).toBe(401);
    expect((await post(WRITE)).status).toBe(201);
    const replay = await fetch(`${service.url}/shadow/replay`, { method: "POST", headers: READ, body: "{}" });
    expect(replay.status).toBe(401);
  });
});

describe("a full mirror queue", () => {
  it("drops and counts what does not fit, while ingest stores every prediction", {
    timeout: 60_000,
  }, async () => {
    let id = 0;
    const request = (records: number) =>
      Array.from({ length: records }, () =>
        JSON.stringify({
          event: "ml.prediction",
          "ml.model.name": "m",
          "ml.prediction.id": `p${id++}`,
          "ml.prediction.class": "a",
          "ml.feature.x": id % 7,
        }),
      ).join("\n");
    // Requests larger than the queue never fit; smaller ones, sent at once, fit while the worker keeps up.
    const bodies = [
      ...Array.from({ length: 5 }, () => request(QUEUE + 50)),
      ...Array.from({ length: 40 }, () => request(60)),
    ];
    const answers = await Promise.all(
      bodies.map((body) => fetch(`${service.url}/v1/events`, { method: "POST", headers: WRITE, body })),
    );
    expect(answers.map((a) => a.status)).toEqual(bodies.map(() => 200));
    await service.flushed();
    await service.shadowFlushed();

    const sent = id;
    const [stored] = await service.rows<{ n: number }>("SELECT count() AS n FROM modelwatch.predictions");
    expect(stored?.n).toBe(sent);
    const stats = service.shadowStats();
    expect(stats.dropped.queue_full).toBeGreaterThanOrEqual(5 * (QUEUE + 50));
    expect(stats.mirrored + stats.dropped.queue_full).toBe(sent);
    const [answered] = await service.rows<{ n: number }>(
      "SELECT count() AS n FROM modelwatch.shadow_predictions FINAL",
    );
    expect(answered?.n).toBe(stats.mirrored);
    expect(stats.inferred.lr).toBe(stats.mirrored);

    const list = await jsonOf(await fetch(`${service.url}/shadow/candidates`, { headers: READ }));
    expect(list.live.dropped.queue_full).toBe(stats.dropped.queue_full);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(
        `modelwatch_shadow_dropped_records_total\\{reason="queue_full",[^}]*\\} ${stats.dropped.queue_full}\n`,
      ),
    );
  });
});
