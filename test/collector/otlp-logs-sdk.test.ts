import { ROOT_CONTEXT, TraceFlags, trace } from "@opentelemetry/api";
import { OTLPLogExporter as OTLPLogExporterHttp } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as OTLPLogExporterProto } from "@opentelemetry/exporter-logs-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { LoggerProvider, type LogRecordExporter, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PredictionRow } from "../helpers/rows.js";
import { startTestService, type TestService } from "../helpers/service.js";

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.stop();
});

const EXPORTERS: Array<[string, (url: string) => LogRecordExporter]> = [
  ["protobuf", (url) => new OTLPLogExporterProto({ url })],
  ["protobuf + gzip", (url) => new OTLPLogExporterProto({ url, compression: "gzip" as never })],
  ["json", (url) => new OTLPLogExporterHttp({ url })],
  ["json + gzip", (url) => new OTLPLogExporterHttp({ url, compression: "gzip" as never })],
];

describe.each(EXPORTERS)("the OpenTelemetry logs SDK over OTLP/HTTP %s", (name, makeExporter) => {
  const tag = name.replace(/\W+/g, "-");
  const traceId = "0af7651916cd43dd8448eb211c80319c";
  const spanId = "b7ad6b7169203331";
  const eventTime = Date.UTC(2026, 10, 28, 9, 30, 15, 123);

  it("stores a prediction with every field of the contract, and its label", async () => {
    const provider = new LoggerProvider({
      // ml.model.* may sit on the resource.
      resource: resourceFromAttributes({ "service.name": "scorer", "ml.model.name": `churn-${tag}` }),
      processors: [new SimpleLogRecordProcessor({ exporter: makeExporter(`${service.url}/v1/logs`) })],
    });
    const logger = provider.getLogger("serving");
    const context = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED });
    logger.emit({
      eventName: "ml.prediction",
      timestamp: new Date(eventTime),
      context,
      attributes: {
        "ml.model.version": "2026-11-01",
        "ml.prediction.id": `pred-${tag}`,
        "ml.prediction.class": "yes",
        "ml.prediction.value": 0.75,
        "ml.prediction.score.yes": 0.75,
        "ml.prediction.score.no": 0.25,
        "ml.feature.age": 41, // int → numeric
        "ml.feature.balance": -1234.5, // double → numeric
        "ml.feature.plan": "pro", // string → categorical
        "ml.feature.is_member": true, // bool → categorical
        "ml.features": { tenure_months: 18, channel: "web" }, // kvlist form
        "ml.segment.region": "eu-west",
        "ml.latency_ms": 12.5,
        "unrelated.attribute": "ignored",
      },
    });
    // A label for it, arriving later; event.name as an attribute this time.
    logger.emit({
      timestamp: new Date(eventTime + 3_600_000),
      attributes: {
        "event.name": "ml.label",
        "ml.prediction.id": `pred-${tag}`,
        "ml.label.class": "no",
        "ml.label.value": 0,
      },
    });
    await provider.forceFlush();
    await provider.shutdown();

    const [row, ...others] = await service.rows<PredictionRow>(
      "SELECT * FROM modelwatch.predictions WHERE model = {m:String}",
      { m: `churn-${tag}` },
    );
    expect(others).toHaveLength(0);
    expect(row).toMatchObject({
      time: "2026-11-28 09:30:15.123",
      model: `churn-${tag}`,
      model_version: "2026-11-01",
      prediction_id: `pred-${tag}`,
      predicted_class: "yes",
      predicted_value: 0.75,
      class_scores: { yes: 0.75, no: 0.25 },
      features_numeric: { age: 41, balance: -1234.5, tenure_months: 18 },
      features_categorical: { plan: "pro", is_member: "true", channel: "web" },
      segments: { region: "eu-west" },
      latency_ms: 12.5,
      source: "otlp-logs",
      trace_id: traceId,
      span_id: spanId,
    });
    expect(Date.now() - Date.parse(`${row?.ingest_time.replace(" ", "T")}Z`)).toBeLessThan(120_000);

    const labels = await service.rows("SELECT * FROM modelwatch.labels FINAL WHERE model = {m:String}", {
      m: `churn-${tag}`,
    });
    expect(labels).toEqual([
      expect.objectContaining({
        time: "2026-11-28 10:30:15.123",
        prediction_id: `pred-${tag}`,
        label_class: "no",
        label_value: 0,
      }),
    ]);
  });
});

describe("labels", () => {
  it("a later label for the same prediction replaces the earlier one", async () => {
    const provider = new LoggerProvider({
      processors: [
        new SimpleLogRecordProcessor({
          exporter: new OTLPLogExporterProto({ url: `${service.url}/v1/logs` }),
        }),
      ],
    });
    const logger = provider.getLogger("labeller");
    const label = (cls: string) =>
      logger.emit({
        eventName: "ml.label",
        attributes: { "ml.model.name": "fraud", "ml.prediction.id": "tx-9", "ml.label.class": cls },
      });
    label("legit");
    await provider.forceFlush();
    label("fraud");
    await provider.forceFlush();
    await provider.shutdown();
    const rows = await service.rows<{ label_class: string }>(
      "SELECT label_class FROM modelwatch.labels FINAL WHERE model = 'fraud'",
    );
    expect(rows).toEqual([{ label_class: "fraud" }]);
  });
});
