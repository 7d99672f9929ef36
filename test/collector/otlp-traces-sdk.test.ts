import { OTLPTraceExporter as OTLPTraceExporterHttp } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OTLPTraceExporterProto } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, type TestService } from "../helpers/service.js";

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.stop();
});

describe.each([
  ["protobuf", (url: string): SpanExporter => new OTLPTraceExporterProto({ url })],
  ["json", (url: string): SpanExporter => new OTLPTraceExporterHttp({ url })],
])("the OpenTelemetry trace SDK over OTLP/HTTP %s", (name, makeExporter) => {
  it("stores spans that carry ml.model.name and ml.prediction.id as predictions, and skips the others", async () => {
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "service.name": "torchserve", "ml.model.version": "7" }),
      spanProcessors: [new SimpleSpanProcessor(makeExporter(`${service.url}/v1/traces`))],
    });
    const tracer = provider.getTracer("serving");
    const start = Date.UTC(2026, 10, 28, 8, 0, 0, 0);
    const predict = tracer.startSpan("predict", {
      startTime: new Date(start),
      attributes: {
        "ml.model.name": `resnet-${name}`,
        "ml.prediction.id": `req-${name}`,
        "ml.prediction.class": "cat",
        "ml.prediction.score.cat": 0.9,
        "ml.feature.width": 224,
      },
    });
    predict.end(new Date(start + 37)); // no ml.latency_ms: the span's duration is the latency
    const http = tracer.startSpan("GET /healthz"); // an ordinary span of the same service
    http.end();
    await provider.forceFlush();
    await provider.shutdown();

    const rows = await service.rows("SELECT * FROM modelwatch.predictions WHERE model = {m:String}", {
      m: `resnet-${name}`,
    });
    expect(rows).toEqual([
      expect.objectContaining({
        time: "2026-11-28 08:00:00.000",
        model_version: "7",
        prediction_id: `req-${name}`,
        predicted_class: "cat",
        class_scores: { cat: 0.9 },
        features_numeric: { width: 224 },
        latency_ms: 37,
        source: "otlp-traces",
        trace_id: predict.spanContext().traceId,
        span_id: predict.spanContext().spanId,
      }),
    ]);
    const total = await service.rows<{ n: number }>("SELECT count() AS n FROM modelwatch.predictions");
    expect(total[0]?.n).toBe(name === "protobuf" ? 1 : 2);
  });
});
