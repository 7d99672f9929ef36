import { type Meter, metrics, trace } from "@opentelemetry/api";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { NodeSDK } from "@opentelemetry/sdk-node";

/** The service's own telemetry: metrics for /metrics, and its traces only where OTEL_* names an endpoint. */
export interface Telemetry {
  meter: Meter;
  /** The Prometheus text exposition of every instrument. */
  scrape(): Promise<string>;
  shutdown(): Promise<void>;
}

const TRACE_ENDPOINT_VARIABLES = [
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_TRACES_EXPORTER",
];

export function startTelemetry(env: NodeJS.ProcessEnv): Telemetry {
  // The exporter's own HTTP server stays off: /metrics is served on the service's port.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const tracesWanted = TRACE_ENDPOINT_VARIABLES.some((name) => (env[name] ?? "") !== "");
  const sdk = new NodeSDK({
    serviceName: "modelwatch",
    // Process detection would publish the command line on /metrics, and with it any token passed as a flag.
    autoDetectResources: false,
    metricReaders: [exporter],
    // Without an endpoint named, the SDK's default OTLP exporter would send our spans to localhost:4318,
    // which is this service itself.
    ...(tracesWanted ? {} : { spanProcessors: [] }),
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  const serializer = new PrometheusSerializer();
  return {
    meter: metrics.getMeter("modelwatch"),
    async scrape() {
      const { resourceMetrics } = await exporter.collect();
      return serializer.serialize(resourceMetrics);
    },
    async shutdown() {
      await sdk.shutdown();
      // The SDK leaves its providers registered globally; a service started again in this process (the
      // tests do) would otherwise find the API bound to the providers just shut down.
      metrics.disable();
      trace.disable();
    },
  };
}
