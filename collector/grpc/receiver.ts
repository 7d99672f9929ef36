import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  Metadata as StatusMetadata,
  type sendUnaryData,
  status,
} from "@grpc/grpc-js";
import { bearerCheck, type InflightBudget, RateLimiter, unauthorizedMessage } from "../../common/index.js";
import type { Ingest } from "../ingest.js";
import { exportResponse, type OtlpSignal, retryStatusDetails } from "../otlp/responses.js";
import type { CollectorMetrics } from "../telemetry.js";

export interface GrpcReceiverOptions {
  host: string;
  /** 0: a port of the system's choosing. */
  port: number;
  tls?: { key: string; cert: string };
  ingestTokens: readonly string[];
  /** Largest message, after gzip decompression. */
  maxMessageBytes: number;
  /** Shared with the HTTP receivers: request bytes in progress at once. */
  inflight: InflightBudget;
  /** Requests per second per ingest token (per peer address without tokens); 0: no limit. */
  ratePerSecond: number;
  /** Told to exporters (RetryInfo) when the store or the in-flight bound cannot take more. */
  retryAfterSeconds: number;
  onInternalError?: (err: unknown) => void;
}

export interface GrpcReceiver {
  port: number;
  /** Stops taking calls; those in progress finish. */
  close(): Promise<void>;
}

/** The two OTLP services, by signal: bodies pass through as bytes, read by the collector's own decoder. */
const SERVICES: Record<OtlpSignal, string> = {
  logs: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
  traces: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
};

const bytes = (b: Buffer) => b;

/** A service of one unary method taking and answering raw message bytes. */
function rawService(path: string): ServiceDefinition {
  return {
    Export: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: bytes,
      requestDeserialize: bytes,
      responseSerialize: bytes,
      responseDeserialize: bytes,
    },
  };
}

/** A refusal as a gRPC status, with RetryInfo when the sender should try again later. */
interface Refusal {
  code: status;
  details: string;
  metadata?: Metadata;
}

/**
 * OTLP/gRPC (`LogsService/Export`, `TraceService/Export`, gzip as gRPC negotiates it): the same contract,
 * limits and partial success as OTLP/HTTP, answered with the status codes OTLP names: INVALID_ARGUMENT for
 * a body that cannot be read, UNAUTHENTICATED without a valid token, RESOURCE_EXHAUSTED past the rate and
 * UNAVAILABLE when the spool or the in-flight bound is full (both with RetryInfo, so exporters retry).
 */
export async function startGrpcReceiver(
  ingest: Ingest,
  metrics: CollectorMetrics,
  options: GrpcReceiverOptions,
): Promise<GrpcReceiver> {
  const server = new Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": 1024 * 1024,
  });
  const check = bearerCheck(options.ingestTokens);
  const limiter = new RateLimiter({
    perSecond: options.ratePerSecond,
    burst: Math.max(1, options.ratePerSecond),
  });
  const retry = (code: status, details: string, seconds: number): Refusal => {
    const metadata = new StatusMetadata();
    metadata.set("grpc-status-details-bin", Buffer.from(retryStatusDetails(code, details, seconds)));
    return { code, details, metadata };
  };

  const serve = async (
    signal: OtlpSignal,
    call: ServerUnaryCall<Buffer, Buffer>,
  ): Promise<Buffer | Refusal> => {
    const header = call.metadata.get("authorization")[0];
    const verdict = check(typeof header === "string" ? header : undefined);
    if (verdict !== "ok")
      return { code: status.UNAUTHENTICATED, details: unauthorizedMessage(verdict, "ingest") };
    const key = options.ingestTokens.length > 0 ? String(header) : call.getPeer().replace(/:\d+$/, "");
    const wait = limiter.take(key);
    if (wait !== undefined)
      return retry(
        status.RESOURCE_EXHAUSTED,
        `more than ${options.ratePerSecond} requests per second for this sender; retry in ${wait} s`,
        wait,
      );
    const body = call.request;
    if (!options.inflight.tryTake(body.length))
      return retry(
        status.UNAVAILABLE,
        options.inflight.refusal(options.retryAfterSeconds),
        options.retryAfterSeconds,
      );
    try {
      const result = await ingest.ingest(`otlp-${signal}-protobuf`, body, signal);
      if (!result.ok) return { code: status.INVALID_ARGUMENT, details: result.message };
      if (!result.write.ok) return retry(status.UNAVAILABLE, result.write.message, options.retryAfterSeconds);
      return Buffer.from(exportResponse(signal, "protobuf", result.rejections.length, result.errorMessage));
    } finally {
      options.inflight.give(body.length);
    }
  };

  for (const signal of ["logs", "traces"] as const) {
    const path = SERVICES[signal];
    server.addService(rawService(path), {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        serve(signal, call).then(
          (answer) => {
            const code = Buffer.isBuffer(answer) ? status.OK : answer.code;
            metrics.requests.add(1, { route: path, status: status[code] ?? String(code) });
            if (Buffer.isBuffer(answer)) callback(null, answer);
            else callback(answer);
          },
          (err: unknown) => {
            options.onInternalError?.(err);
            metrics.requests.add(1, { route: path, status: "INTERNAL" });
            callback({ code: status.INTERNAL, details: "internal error; see the service log" });
          },
        );
      },
    });
  }

  const credentials = options.tls
    ? ServerCredentials.createSsl(null, [
        { private_key: Buffer.from(options.tls.key), cert_chain: Buffer.from(options.tls.cert) },
      ])
    : ServerCredentials.createInsecure();
  const address = options.host.includes(":")
    ? `[${options.host}]:${options.port}`
    : `${options.host}:${options.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // In-progress calls finish; a stuck one is cut after a few seconds.
        const forced = setTimeout(() => server.forceShutdown(), 5_000);
        server.tryShutdown(() => {
          clearTimeout(forced);
          resolve();
        });
      }),
  };
}
