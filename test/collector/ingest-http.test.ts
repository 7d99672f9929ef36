import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbl, jsonLogsBody, logsBody, logsResponse, str } from "../helpers/otlp.js";
import { jsonOf, startTestService, type TestService } from "../helpers/service.js";

let service: TestService;
beforeAll(async () => {
  service = await startTestService({
    "max-body-bytes": String(64 * 1024),
    "max-decompressed-bytes": String(1024 * 1024),
    "max-attributes": "40",
  });
});
afterAll(async () => {
  await service?.stop();
});

const post = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
  fetch(`${service.url}${path}`, { method: "POST", body, headers });
const count = async (table: string) =>
  (await service.rows<{ n: number }>(`SELECT count() AS n FROM modelwatch.${table}`))[0]?.n ?? 0;

describe("POST /v1/events (NDJSON)", () => {
  it("stores each line's event and names the lines it could not read", async () => {
    const odd = "tab\there, newline\nhere, quote ' and \\ backslash, ünïcödé ✓";
    const body = [
      JSON.stringify({
        event: "ml.prediction",
        time: "2026-11-28T07:00:00.250Z",
        "ml.model.name": "ndjson-model",
        "ml.model.version": odd,
        "ml.prediction.id": "n-1",
        "ml.prediction.value": 12.5,
        "ml.features": { [`weird ${odd}`]: 1.5, colour: odd },
        "ml.segment.country": odd,
      }),
      "{not json",
      JSON.stringify({
        event: "ml.label",
        "ml.model.name": "ndjson-model",
        "ml.prediction.id": "n-1",
        "ml.label.value": 13,
      }),
      JSON.stringify({ event: "ml.prediction", "ml.prediction.id": "n-2" }),
      "",
    ].join("\n");
    const res = await post("/v1/events", body, { "content-type": "application/x-ndjson" });
    expect(res.status).toBe(200);
    expect(await jsonOf(res)).toEqual({
      accepted: 2,
      rejected: 2,
      errors: [
        { line: 2, message: expect.stringContaining("not valid JSON") },
        { line: 4, message: "attribute ml.model.name is missing" },
      ],
    });
    const [row] = await service.rows("SELECT * FROM modelwatch.predictions WHERE model = 'ndjson-model'");
    expect(row).toMatchObject({
      time: "2026-11-28 07:00:00.250",
      model_version: odd,
      predicted_value: 12.5,
      features_numeric: { [`weird ${odd}`]: 1.5 },
      features_categorical: { colour: odd },
      segments: { country: odd },
      source: "events",
    });
    const labels = await service.rows(
      "SELECT label_value FROM modelwatch.labels WHERE model = 'ndjson-model'",
    );
    expect(labels).toEqual([{ label_value: 13 }]);
  });

  it("answers 400 when no line could be stored, and stores nothing", async () => {
    const before = await count("predictions");
    const res = await post("/v1/events", '{"event":"ml.prediction"}\n[1,2]\n');
    expect(res.status).toBe(400);
    expect((await jsonOf(res)).rejected).toBe(2);
    const empty = await post("/v1/events", "\n\n");
    expect(empty.status).toBe(400);
    expect((await jsonOf(empty)).error.message).toMatch(/no events/);
    expect(await count("predictions")).toBe(before);
  });

  it("takes a gzip body", async () => {
    const line = JSON.stringify({
      event: "ml.prediction",
      "ml.model.name": "gz-events",
      "ml.prediction.class": "a",
    });
    const res = await post("/v1/events", gzipSync(line), { "content-encoding": "gzip" });
    expect(res.status).toBe(200);
    expect(
      await service.rows("SELECT predicted_class FROM modelwatch.predictions WHERE model = 'gz-events'"),
    ).toEqual([{ predicted_class: "a" }]);
  });
});

describe("OTLP partial success", () => {
  const now = `${Date.now()}000000`;
  const bad = [
    { name: "missing model", attributes: [str("ml.prediction.class", "x")], eventName: "ml.prediction" },
    {
      name: "NaN feature",
      attributes: [str("ml.model.name", "ps"), dbl("ml.feature.x", "NaN")],
      eventName: "ml.prediction",
    },
    {
      name: "Infinity value",
      attributes: [str("ml.model.name", "ps"), dbl("ml.prediction.value", "Infinity")],
      eventName: "ml.prediction",
    },
    { name: "unknown event", attributes: [str("ml.model.name", "ps")], eventName: "checkout" },
    {
      name: "label without id",
      attributes: [str("ml.model.name", "ps"), str("ml.label.class", "y")],
      eventName: "ml.label",
    },
    {
      name: "attribute flood",
      attributes: [
        str("ml.model.name", "ps"),
        ...Array.from({ length: 50 }, (_, i) => dbl(`ml.feature.f${i}`, i)),
      ],
      eventName: "ml.prediction",
    },
    {
      name: "far future",
      attributes: [str("ml.model.name", "ps")],
      eventName: "ml.prediction",
      timeUnixNano: `${Date.now() + 86_400_000}000000`,
    },
  ];

  it("OTLP/JSON: stores the good records and answers partialSuccess with a count and reasons", async () => {
    const before = await count("predictions");
    const good = {
      eventName: "ml.prediction",
      timeUnixNano: now,
      attributes: [str("ml.model.name", "ps"), str("ml.prediction.class", "ok")],
    };
    const body = jsonLogsBody([good, ...bad.map(({ name: _, ...r }) => ({ timeUnixNano: now, ...r }))]);
    const res = await post("/v1/logs", body, { "content-type": "application/json" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const answer = await jsonOf(res);
    expect(answer.partialSuccess.rejectedLogRecords).toBe(String(bad.length));
    const message: string = answer.partialSuccess.errorMessage;
    expect(message).toContain("record 1: attribute ml.model.name is missing");
    expect(message).toContain("record 2: attribute ml.feature.x must be a finite number");
    expect(message).toContain("record 3: attribute ml.prediction.value must be a finite number");
    expect(message).toContain('record 4: event name "checkout" is neither ml.prediction nor ml.label');
    expect(message).toContain("record 5: attribute ml.prediction.id is missing on a label");
    expect(message).toMatch(/and 2 more$/);
    expect(await count("predictions")).toBe(before + 1);
  });

  it("OTLP protobuf: the SDK's own deserializer reads the partial_success", async () => {
    const body = logsBody([
      {
        eventName: "ml.prediction",
        attributes: { "ml.model.name": "ps-proto", "ml.prediction.class": "ok" },
      },
      { eventName: "ml.prediction", attributes: { "ml.prediction.class": "no model" } },
    ]);
    const res = await post("/v1/logs", body, { "content-type": "application/x-protobuf" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-protobuf");
    const answer = logsResponse(new Uint8Array(await res.arrayBuffer()));
    expect(Number(answer.partialSuccess?.rejectedLogRecords)).toBe(1);
    expect(answer.partialSuccess?.errorMessage).toContain("record 1: attribute ml.model.name is missing");
  });

  it("a fully accepted protobuf request gets an empty response (partial_success unset)", async () => {
    const body = logsBody([{ eventName: "ml.prediction", attributes: { "ml.model.name": "ps-proto" } }]);
    const res = await post("/v1/logs", body, { "content-type": "application/x-protobuf" });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });
});

describe("bad requests are refused whole with a reason, and change nothing", () => {
  const good = () => logsBody([{ eventName: "ml.prediction", attributes: { "ml.model.name": "refused" } }]);
  const cases: Array<[string, () => [string | Uint8Array, Record<string, string>], number, RegExp]> = [
    [
      "a wrong content type",
      () => [good(), { "content-type": "text/plain" }],
      400,
      /Content-Type .*text\/plain.* is not OTLP/,
    ],
    ["no content type", () => [good(), {}], 400, /is not OTLP/],
    [
      "random bytes as protobuf",
      () => [
        new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]),
        { "content-type": "application/x-protobuf" },
      ],
      400,
      /malformed protobuf/,
    ],
    [
      "truncated protobuf",
      () => [good().slice(0, 40), { "content-type": "application/x-protobuf" }],
      400,
      /malformed protobuf/,
    ],
    ["invalid JSON", () => ['{"resourceLogs": [', { "content-type": "application/json" }], 400, /not JSON/],
    [
      "JSON of the wrong shape",
      () => ['{"resourceLogs": {"a": 1}}', { "content-type": "application/json" }],
      400,
      /resourceLogs must be an array/,
    ],
    [
      "invalid UTF-8 in OTLP/JSON",
      () => [
        new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
        { "content-type": "application/json" },
      ],
      400,
      /not valid UTF-8/,
    ],
    [
      "an unknown content encoding",
      () => [good(), { "content-type": "application/x-protobuf", "content-encoding": "br" }],
      400,
      /Content-Encoding br/,
    ],
    [
      "a corrupt gzip stream",
      () => [
        new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]),
        { "content-type": "application/x-protobuf", "content-encoding": "gzip" },
      ],
      400,
      /gzip/,
    ],
    [
      "a body over the size limit",
      () => [new Uint8Array(65 * 1024), { "content-type": "application/x-protobuf" }],
      413,
      /larger than 65536 bytes/,
    ],
    [
      "a gzip bomb",
      () => [
        gzipSync(new Uint8Array(8 * 1024 * 1024)),
        { "content-type": "application/x-protobuf", "content-encoding": "gzip" },
      ],
      413,
      /decompresses to more than 1048576 bytes/,
    ],
    [
      "deeply nested values",
      () => [
        jsonLogsBody([{ eventName: "ml.prediction", attributes: [{ key: "deep", value: nest(12) }] }]),
        { "content-type": "application/json" },
      ],
      400,
      /nested deeper than 8/,
    ],
  ];

  it.each(cases)("%s", async (_name, make, status, reason) => {
    const before = await count("predictions");
    const [body, headers] = make();
    const res = await post("/v1/logs", body, headers);
    expect(res.status).toBe(status);
    const text = Buffer.from(await res.arrayBuffer()).toString("latin1");
    expect(text).toMatch(reason);
    expect(await count("predictions")).toBe(before);
  });

  it("a chunked body (no Content-Length) is cut off at the size limit", async () => {
    const chunk = new Uint8Array(16 * 1024);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 32 * 1024 * 1024) return controller.close(); // 32 MiB offered, 64 KiB allowed
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(`${service.url}/v1/logs`, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-protobuf" },
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(res.headers.get("connection")).toBe("close");
    expect(sent).toBeLessThan(32 * 1024 * 1024);
  });

  it("invalid UTF-8 in a protobuf string is refused", async () => {
    const body = Buffer.from(good());
    const at = body.indexOf("refused");
    body[at] = 0xff;
    const res = await post("/v1/logs", body, { "content-type": "application/x-protobuf" });
    expect(res.status).toBe(400);
    expect(Buffer.from(await res.arrayBuffer()).toString("latin1")).toContain("not valid UTF-8");
  });

  it("each refusal is counted by reason on /metrics", async () => {
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(
      /modelwatch_records_rejected_total\{signal="logs",reason="invalid_attribute"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(
      /modelwatch_records_rejected_total\{signal="events",reason="malformed_line"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(/modelwatch_ingest_requests_total\{route="\/v1\/logs",status="413"[^}]*\} 3/);
    expect(metrics).toMatch(/modelwatch_insert_duration_seconds_bucket\{table="predictions"/);
  });
});

function nest(depth: number): unknown {
  return depth === 0 ? { stringValue: "bottom" } : { arrayValue: { values: [nest(depth - 1)] } };
}
