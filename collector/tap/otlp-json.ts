/**
 * NDJSON events as an OTLP/JSON logs request: how a tap running as its own process sends what it records
 * to a modelwatch service (`/v1/logs`), one LogRecord per event, attributes as the event contract names
 * them.
 */
export function otlpLogsJson(ndjson: string): string {
  const logRecords = ndjson
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const { event, time, ...attributes } = JSON.parse(line) as Record<string, unknown>;
      return {
        timeUnixNano: `${Math.round(Number(time))}000000`,
        eventName: event,
        attributes: Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) })),
      };
    });
  return JSON.stringify({ resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ logRecords }] }] });
}

function anyValue(v: unknown): Record<string, unknown> {
  if (typeof v === "number") return { doubleValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (typeof v === "object" && v !== null)
    return {
      kvlistValue: {
        values: Object.entries(v as Record<string, unknown>).map(([key, value]) => ({
          key,
          value: anyValue(value),
        })),
      },
    };
  return { stringValue: String(v) };
}
