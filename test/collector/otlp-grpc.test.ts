import {
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { OTLPLogExporter } from "@opentelemetry/exporter-logs-otlp-grpc";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchLogRecordProcessor, LoggerProvider } from "@opentelemetry/sdk-logs";
import { BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logsBody, logsResponse } from "../helpers/otlp.js";
import { startTestService, type TestService } from "../helpers/service.js";

const TOKEN = "grpc-ingest-token";
let service: TestService;
let storeDown = false;

beforeAll(async () => {
  service = await startTestService(
    { "ingest-tokens": TOKEN, host: "127.0.0.1", "spool-max-mb": "1", "ingest-rate-limit": "0" },
    {},
    { insertFault: () => (storeDown ? new Error("the store is down (test)") : undefined) },
  );
});
afterAll(async () => {
  await service?.stop();
});

const bearer = () => {
  const m = new Metadata();
  m.set("authorization", `Bearer ${TOKEN}`);
  return m;
};

/** A raw OTLP/gRPC client: bodies and answers as bytes, so tests can send what an SDK never would. */
const RawLogs = makeGenericClientConstructor(
  {
    Export: {
      path: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  },
  "LogsService",
);

type RawExport = (
  body: Buffer,
  metadata: Metadata,
  callback: (error: ServiceError | null, answer?: Buffer) => void,
) => void;

function exportRaw(body: Uint8Array, metadata: Metadata): Promise<{ answer?: Buffer; error?: ServiceError }> {
  const client = new RawLogs(`127.0.0.1:${service.grpcPort}`, credentials.createInsecure());
  return new Promise((resolve) => {
    (client as unknown as { Export: RawExport }).Export(
      Buffer.from(body),
      metadata,
      (error: ServiceError | null, answer?: Buffer) => {
        client.close();
        resolve(error ? { error } : { answer });
      },
    );
  });
}

const prediction = (id: string, model = "grpc-model") => ({
  eventName: "ml.prediction",
  timestamp: Date.now(),
  attributes: {
    "ml.model.name": model,
    "ml.prediction.id": id,
    "ml.prediction.class": "yes",
    "ml.feature.age": 41,
  },
});

describe("OTLP/gRPC", () => {
  it("stores what the OpenTelemetry SDK's gRPC exporters send, gzip included", async () => {
    for (const compression of ["none", "gzip"] as const) {
      const exporter = new OTLPLogExporter({
        url: `http://127.0.0.1:${service.grpcPort}`,
        metadata: bearer(),
        compression: compression as never,
      });
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ "ml.model.version": "v3" }),
        // Batched, as exporters are run: one export per batch (a simple processor past 30 pending exports drops).
        processors: [new BatchLogRecordProcessor({ exporter })],
      });
      const logger = provider.getLogger("serving");
      for (let i = 0; i < 50; i++) logger.emit(prediction(`${compression}-${i}`, `logs-${compression}`));
      await provider.forceFlush();
      await provider.shutdown();
    }
    const tracer = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": "torchserve" }),
      spanProcessors: [
        new SimpleSpanProcessor(
          new OTLPTraceExporter({ url: `http://127.0.0.1:${service.grpcPort}`, metadata: bearer() }),
        ),
      ],
    });
    const span = tracer.getTracer("t").startSpan("predict", {
      attributes: { "ml.model.name": "spans", "ml.prediction.id": "s1", "ml.prediction.class": "cat" },
    });
    span.end();
    await tracer.forceFlush();
    await tracer.shutdown();

    const rows = await service.rows<{ model: string; n: number; version: string }>(
      `SELECT model, count() AS n, any(model_version) AS version FROM modelwatch.predictions
       GROUP BY model ORDER BY model`,
    );
    expect(rows).toEqual([
      { model: "logs-gzip", n: 50, version: "v3" },
      { model: "logs-none", n: 50, version: "v3" },
      { model: "spans", n: 1, version: "" },
    ]);
  });

  it("answers partial success for refused records, INVALID_ARGUMENT for a body it cannot read", async () => {
    const bad = {
      eventName: "ml.prediction",
      timestamp: Date.now(),
      attributes: { "ml.prediction.id": "x" },
    };
    const { answer, error } = await exportRaw(logsBody([prediction("ok-1"), bad]), bearer());
    expect(error).toBeUndefined();
    const response = logsResponse(answer as Buffer);
    expect(response.partialSuccess?.rejectedLogRecords).toBe(1);
    expect(response.partialSuccess?.errorMessage).toMatch(/record 1: .*ml.model.name/);

    const garbage = await exportRaw(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]), bearer());
    expect(garbage.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(garbage.error?.details).toMatch(/protobuf|runs past|truncated|malformed/i);
  });

  it("refuses a missing or wrong token with UNAUTHENTICATED", async () => {
    const missing = await exportRaw(logsBody([prediction("t1")]), new Metadata());
    expect([missing.error?.code, missing.error?.details]).toEqual([
      status.UNAUTHENTICATED,
      "send the ingest token as 'Authorization: Bearer <token>'",
    ]);
    const wrong = new Metadata();
    wrong.set("authorization", "Bearer nope");
    expect((await exportRaw(logsBody([prediction("t2")]), wrong)).error?.code).toBe(status.UNAUTHENTICATED);
  });

  it("answers UNAVAILABLE with RetryInfo once the spool is full, and stores every acknowledged record once", async () => {
    const before =
      (await service.rows<{ n: number }>("SELECT count() AS n FROM modelwatch.predictions"))[0]?.n ?? 0;
    storeDown = true;
    let acknowledged = 0;
    let refused: ServiceError | undefined;
    for (let b = 0; b < 200 && !refused; b++) {
      const records = Array.from({ length: 200 }, (_, i) => prediction(`full-${b}-${i}-${"x".repeat(40)}`));
      const { error } = await exportRaw(logsBody(records), bearer());
      if (error) refused = error;
      else acknowledged += records.length;
    }
    expect(refused?.code).toBe(status.UNAVAILABLE);
    expect(refused?.details).toMatch(/spool/);
    const details = refused?.metadata.get("grpc-status-details-bin")[0] as Buffer;
    // google.rpc.Status: code 14, the message, and a RetryInfo detail naming its delay.
    expect(details[0]).toBe(0x08);
    expect(details[1]).toBe(status.UNAVAILABLE);
    expect(details.toString("latin1")).toContain("type.googleapis.com/google.rpc.RetryInfo");
    expect(acknowledged).toBeGreaterThan(0);

    storeDown = false;
    await service.flushed();
    const [after] = await service.rows<{ n: number }>("SELECT count() AS n FROM modelwatch.predictions");
    expect((after?.n ?? 0) - before).toBe(acknowledged);
  });
});
