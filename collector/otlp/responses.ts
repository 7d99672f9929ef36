/**
 * OTLP response bodies. Success answers carry `partial_success` only when records were rejected (the
 * OTLP spec: an unset partial_success means everything was accepted); failures carry a google.rpc.Status.
 * Each in the request's encoding.
 */

export type OtlpSignal = "logs" | "traces";
export type OtlpEncoding = "protobuf" | "json";

const REJECTED_FIELD_JSON: Record<OtlpSignal, string> = {
  logs: "rejectedLogRecords",
  traces: "rejectedSpans",
};

/** ExportLogsServiceResponse / ExportTraceServiceResponse. */
export function exportResponse(
  signal: OtlpSignal,
  encoding: OtlpEncoding,
  rejected: number,
  errorMessage: string,
): Uint8Array | string {
  if (encoding === "json") {
    if (rejected === 0 && errorMessage === "") return "{}";
    return JSON.stringify({
      partialSuccess: { [REJECTED_FIELD_JSON[signal]]: String(rejected), errorMessage },
    });
  }
  if (rejected === 0 && errorMessage === "") return new Uint8Array(0);
  // partial_success = 1 { rejected_* (int64) = 1; error_message = 2 } — the same numbers for both signals.
  const inner = [...field(1, 0, varint(rejected)), ...lenField(2, utf8(errorMessage))];
  return new Uint8Array(lenField(1, inner));
}

/** google.rpc.Status { int32 code = 1; string message = 2 } for error responses. */
export function statusBody(encoding: OtlpEncoding, grpcCode: number, message: string): Uint8Array | string {
  if (encoding === "json") return JSON.stringify({ code: grpcCode, message });
  return new Uint8Array([...field(1, 0, varint(grpcCode)), ...lenField(2, utf8(message))]);
}

/**
 * google.rpc.Status carrying a google.rpc.RetryInfo (`retry_delay` in whole seconds), as gRPC sends it in the
 * `grpc-status-details-bin` trailer: what OTLP/gRPC tells an exporter for UNAVAILABLE and for a
 * RESOURCE_EXHAUSTED it may retry.
 */
export function retryStatusDetails(grpcCode: number, message: string, retrySeconds: number): Uint8Array {
  const duration = field(1, 0, varint(retrySeconds)); // google.protobuf.Duration { int64 seconds = 1 }
  const retryInfo = lenField(1, duration); // RetryInfo { Duration retry_delay = 1 }
  const any = [...lenField(1, utf8("type.googleapis.com/google.rpc.RetryInfo")), ...lenField(2, retryInfo)];
  return new Uint8Array([
    ...field(1, 0, varint(grpcCode)),
    ...lenField(2, utf8(message)),
    ...lenField(3, any),
  ]);
}

function utf8(text: string): number[] {
  return [...Buffer.from(text, "utf8")];
}

function varint(value: number): number[] {
  const out: number[] = [];
  let v = Math.max(0, Math.floor(value));
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function field(num: number, wireType: number, payload: number[]): number[] {
  return [...varint((num << 3) | wireType), ...payload];
}

function lenField(num: number, payload: number[]): number[] {
  return field(num, 2, [...varint(payload.length), ...payload]);
}
