/**
 * Errors raised by the store. `code` is stable for programs; `retryable` says whether the same call may
 * succeed later (the engine is busy or unreachable) or will fail again until something is changed.
 */
export type StoreErrorCode = "CONNECT" | "MIGRATION" | "INSERT" | "QUERY" | "READONLY" | "CONFIG";

/** ClickHouse error codes that mean "try again later" rather than "this statement is wrong". */
const RETRYABLE_CLICKHOUSE_CODES = new Set([
  "159", // TIMEOUT_EXCEEDED
  "202", // TOO_MANY_SIMULTANEOUS_QUERIES
  "209", // SOCKET_TIMEOUT
  "210", // NETWORK_ERROR
  "242", // TABLE_IS_READ_ONLY (replica lost its keeper session)
  "252", // TOO_MANY_PARTS
  "319", // UNKNOWN_STATUS_OF_INSERT
  "425", // SYSTEM_ERROR
  "999", // KEEPER_EXCEPTION
]);

export class StoreError extends Error {
  override readonly name = "StoreError";
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Wraps a failure from `@clickhouse/client`, deciding retryability by ClickHouse error code. */
  static from(code: StoreErrorCode, what: string, cause: unknown): StoreError {
    const chCode = clickhouseCode(cause);
    const retryable = chCode === undefined ? isNetworkError(cause) : RETRYABLE_CLICKHOUSE_CODES.has(chCode);
    const detail = cause instanceof Error ? cause.message : String(cause);
    return new StoreError(code, `${what}: ${firstLine(detail)}`, retryable, { cause });
  }
}

/** The numeric ClickHouse error code carried by a client error, as a string, if any. */
export function clickhouseCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === "string" && /^\d+$/.test(code)) return code;
  }
  return undefined;
}

function isNetworkError(err: unknown): boolean {
  const code =
    typeof err === "object" && err !== null && "code" in err ? (err as { code: unknown }).code : "";
  return ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENOTFOUND"].includes(
    String(code),
  );
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? text;
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}
