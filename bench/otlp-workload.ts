import { ProtobufLogsSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";

export interface WorkloadShape {
  bodies: number;
  recordsPerBody: number;
  features: number;
}

/**
 * OTLP/HTTP protobuf request bodies encoded by the OpenTelemetry SDK itself: each record an ml.prediction
 * with 20 numeric features, class scores, a segment and latency (28 attributes with the resource's).
 */
export function predictionBodies(shape: WorkloadShape, seed = 1): Uint8Array[] {
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const bodies: Uint8Array[] = [];
  for (let b = 0; b < shape.bodies; b++) {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      resource: resourceFromAttributes({ "service.name": "bench-scorer", "ml.model.name": `model-${b % 3}` }),
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    const logger = provider.getLogger("bench");
    for (let i = 0; i < shape.recordsPerBody; i++) {
      const score = random();
      const attributes: Record<string, string | number> = {
        "ml.model.version": "v1",
        "ml.prediction.id": `b${b}-r${i}-${seed}`,
        "ml.prediction.class": score > 0.5 ? "yes" : "no",
        "ml.prediction.score.yes": score,
        "ml.prediction.score.no": 1 - score,
        "ml.segment.region": random() > 0.5 ? "eu" : "us",
        "ml.latency_ms": Math.round(random() * 5000) / 100,
      };
      for (let f = 0; f < shape.features; f++)
        attributes[`ml.feature.f${f}`] = Math.round(random() * 1e6) / 1e3;
      logger.emit({ eventName: "ml.prediction", timestamp: Date.now(), attributes });
    }
    const body = ProtobufLogsSerializer.serializeRequest(exporter.getFinishedLogRecords());
    if (!body) throw new Error("the SDK serializer returned nothing");
    bodies.push(body);
  }
  return bodies;
}
