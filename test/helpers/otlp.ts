import type { AnyValueMap } from "@opentelemetry/api-logs";
import { ProtobufLogsSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from "@opentelemetry/sdk-logs";

export interface TestLogRecord {
  eventName?: string;
  timestamp?: number;
  attributes: AnyValueMap;
}

/** An OTLP/HTTP protobuf logs body, encoded by the OpenTelemetry SDK's own serializer. */
export function logsBody(records: TestLogRecord[], resource: Record<string, string> = {}): Uint8Array {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(resource),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger("test");
  for (const r of records) logger.emit(r);
  const body = ProtobufLogsSerializer.serializeRequest(exporter.getFinishedLogRecords());
  if (!body) throw new Error("the SDK serializer returned nothing");
  return body;
}

/** Decodes an ExportLogsServiceResponse with the SDK's own deserializer. */
export function logsResponse(body: Uint8Array) {
  return ProtobufLogsSerializer.deserializeResponse(body);
}

/** An OTLP/JSON logs body with one record per attribute list (values in OTLP/JSON AnyValue form). */
export function jsonLogsBody(
  records: Array<{
    eventName?: string;
    timeUnixNano?: string;
    attributes: Array<{ key: string; value: unknown }>;
  }>,
): string {
  return JSON.stringify({
    resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ logRecords: records }] }],
  });
}

export const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
export const dbl = (key: string, value: number | string) => ({ key, value: { doubleValue: value } });
