import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import {
  DEFAULT_THRESHOLDS,
  parseThresholds,
  type ReferenceChoice,
  type Thresholds,
} from "../analyzers/index.js";
import type { ModelMapping } from "../collector/index.js";
import { type CandidateSpec, parseCandidateSpec } from "../shadow/index.js";

/** Every setting of `modelwatch serve`, parsed and validated once at start. */
export interface Config {
  clickhouse: { url?: string; username?: string; password?: string; database: string; cluster?: string };
  dataDir: string;
  host: string;
  /** PEM key and certificate: the HTTP port speaks HTTPS. */
  tls?: { key: string; cert: string };
  httpPort: number;
  grpcPort: number;
  ingestTokens: string[];
  readTokens: string[];
  /** Ingest requests per second per token (per client address without tokens); 0: unlimited. */
  ingestRatePerSecond: number;
  /** Ingest request bytes in progress at once (memory bound under any offered load). */
  maxInflightBytes: number;
  retentionDays: number;
  batch: { maxBatchRecords: number; flushIntervalMs: number };
  analysis: {
    /** Between scheduled incremental runs; 0: only on demand. */
    intervalMs: number;
    windowMs: number;
    reference: ReferenceChoice;
    segments: string[];
    categoricalTopN: number;
    thresholds: Thresholds;
  };
  /** The tap proxy: in front of `upstream` when set, on `port`; `service` for `modelwatch tap` alone. */
  tap: { upstream?: URL; port: number; service?: string };
  /** Per model: names for positional features, class labels, the output to read (captured payloads). */
  inferenceMappings: Record<string, ModelMapping>;
  shadow: {
    modelsDir: string;
    /** From the shadow config file: registered at every start. */
    candidates: CandidateSpec[];
    queueRecords: number;
    batchRows: number;
    batchDelayMs: number;
  };
  /** Worker threads that decode request bodies; 0 decodes on the event loop. */
  decodeThreads: number;
  spool: { dir: string; maxBytes: number };
  limits: {
    maxBodyBytes: number;
    maxDecompressedBytes: number;
    maxAttributesPerRecord: number;
    maxFutureMinutes: number;
    maxPastDays: number;
  };
}

/** A configuration problem, or several: the message lists each with the setting's name and bound. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

type Kind = "string" | "url" | "int" | "list" | "identifier";

interface Setting {
  /** Command-line flag (without --), also the key in `flags`. */
  flag: string;
  env: string;
  kind: Kind;
  default?: string;
  min?: number;
  max?: number;
  help: string;
}

/** The settings table: flags, environment variables, defaults and bounds, and the --help text. */
export const SETTINGS = [
  {
    flag: "clickhouse-url",
    env: "CLICKHOUSE_URL",
    kind: "url",
    help: "ClickHouse server or cluster (http(s)://host:8123); unset: embedded store",
  },
  {
    flag: "clickhouse-user",
    env: "CLICKHOUSE_USER",
    kind: "string",
    help: "ClickHouse user (default: default)",
  },
  { flag: "clickhouse-password", env: "CLICKHOUSE_PASSWORD", kind: "string", help: "ClickHouse password" },
  {
    flag: "clickhouse-cluster",
    env: "CLICKHOUSE_CLUSTER",
    kind: "identifier",
    help: "ClickHouse cluster name: schema ON CLUSTER, replicated tables behind Distributed ones (needs CLICKHOUSE_URL)",
  },
  {
    flag: "database",
    env: "CLICKHOUSE_DATABASE",
    kind: "identifier",
    default: "modelwatch",
    help: "database for modelwatch's tables",
  },
  {
    flag: "data-dir",
    env: "MODELWATCH_DATA_DIR",
    kind: "string",
    default: "./data",
    help: "embedded store's data directory",
  },
  {
    flag: "host",
    env: "MODELWATCH_HOST",
    kind: "string",
    help: "address to listen on (default: 127.0.0.1; 0.0.0.0 when an ingest token is set)",
  },
  {
    flag: "http-port",
    env: "MODELWATCH_HTTP_PORT",
    kind: "int",
    default: "4318",
    min: 0,
    max: 65535,
    help: "HTTP port: OTLP, /v1/events, /sql, /metrics, health",
  },
  {
    flag: "grpc-port",
    env: "MODELWATCH_GRPC_PORT",
    kind: "int",
    default: "4317",
    min: 0,
    max: 65535,
    help: "OTLP/gRPC port (logs and traces services); 0: a free port",
  },
  {
    flag: "ingest-tokens",
    env: "MODELWATCH_INGEST_TOKENS",
    kind: "list",
    help: "comma-separated bearer tokens accepted for ingest",
  },
  {
    flag: "read-tokens",
    env: "MODELWATCH_READ_TOKENS",
    kind: "list",
    help: "comma-separated bearer tokens accepted for /sql",
  },
  {
    flag: "tls-cert",
    env: "MODELWATCH_TLS_CERT",
    kind: "string",
    help: "PEM certificate file: serve HTTPS (with --tls-key)",
  },
  {
    flag: "tls-key",
    env: "MODELWATCH_TLS_KEY",
    kind: "string",
    help: "PEM private key file of --tls-cert",
  },
  {
    flag: "ingest-rate-limit",
    env: "MODELWATCH_INGEST_RATE_LIMIT",
    kind: "int",
    default: "1000",
    min: 0,
    max: 1_000_000,
    help: "ingest requests per second per token (per client address without tokens); 0: unlimited",
  },
  {
    flag: "max-inflight-mb",
    env: "MODELWATCH_MAX_INFLIGHT_MB",
    kind: "int",
    default: "128",
    min: 1,
    max: 65_536,
    help: "request bytes in progress at once; past it ingest answers 503 without reading the body",
  },
  {
    flag: "retention-days",
    env: "MODELWATCH_RETENTION_DAYS",
    kind: "int",
    default: "90",
    min: 1,
    // TTLs count in DateTime, which ends in 2106: today's events kept for 100 years would expire at once.
    max: 3650,
    help: "days of events kept (whole parts dropped)",
  },
  {
    flag: "batch-max-records",
    env: "MODELWATCH_BATCH_MAX_RECORDS",
    kind: "int",
    default: "100000",
    min: 1,
    max: 1_000_000,
    help: "rows per insert at most",
  },
  {
    flag: "batch-flush-interval-ms",
    env: "MODELWATCH_BATCH_FLUSH_INTERVAL_MS",
    kind: "int",
    default: "1000",
    min: 1,
    max: 60_000,
    help: "inserts start at most this often (records wait in the spool; a query with fresh=1 flushes)",
  },
  {
    flag: "decode-threads",
    env: "MODELWATCH_DECODE_THREADS",
    kind: "int",
    default: String(Math.max(1, Math.min(4, availableParallelism() - 1))),
    min: 0,
    max: 64,
    help: "threads that decode request bodies (0: on the event loop); default: cores - 1, at most 4",
  },
  {
    flag: "spool-dir",
    env: "MODELWATCH_SPOOL_DIR",
    kind: "string",
    help: "write-ahead spool: where accepted records wait for the store (default <data-dir>/spool)",
  },
  {
    flag: "spool-max-mb",
    env: "MODELWATCH_SPOOL_MAX_MB",
    kind: "int",
    default: "1024",
    min: 1,
    max: 1_048_576,
    help: "spool size at which ingest answers 503 until the store catches up",
  },
  {
    flag: "max-body-bytes",
    env: "MODELWATCH_MAX_BODY_BYTES",
    kind: "int",
    default: String(16 * 1024 * 1024),
    min: 1024,
    max: 1024 ** 3,
    help: "largest request body",
  },
  {
    flag: "max-decompressed-bytes",
    env: "MODELWATCH_MAX_DECOMPRESSED_BYTES",
    kind: "int",
    default: String(64 * 1024 * 1024),
    min: 1024,
    max: 4 * 1024 ** 3,
    help: "largest body after gzip decompression",
  },
  {
    flag: "max-attributes",
    env: "MODELWATCH_MAX_ATTRIBUTES",
    kind: "int",
    default: "512",
    min: 1,
    max: 100_000,
    help: "attributes per record at most",
  },
  {
    flag: "max-future-minutes",
    env: "MODELWATCH_MAX_FUTURE_MINUTES",
    kind: "int",
    default: "60",
    min: 0,
    max: 525_600,
    help: "how far ahead of now an event time may be",
  },
  {
    flag: "max-past-days",
    env: "MODELWATCH_MAX_PAST_DAYS",
    kind: "int",
    help: "how far back an event time may be (default: the retention)",
    min: 1,
    max: 36500,
  },
  {
    flag: "analyze-interval-minutes",
    env: "MODELWATCH_ANALYZE_INTERVAL_MINUTES",
    kind: "int",
    default: "5",
    min: 0,
    max: 1440,
    help: "between analyzer runs inside serve (0: only on demand)",
  },
  {
    flag: "window-minutes",
    env: "MODELWATCH_WINDOW_MINUTES",
    kind: "int",
    default: "60",
    min: 1,
    max: 10080,
    help: "analysis window (tumbling, aligned to UTC)",
  },
  {
    flag: "reference",
    env: "MODELWATCH_REFERENCE",
    kind: "string",
    default: "first-day",
    help: "drift reference: first-day (of each model version), previous (window), or FROM/TO (ISO 8601)",
  },
  {
    flag: "segments",
    env: "MODELWATCH_SEGMENTS",
    kind: "list",
    help: "segment keys (ml.segment.<key>) to break quality metrics down by",
  },
  {
    flag: "thresholds-file",
    env: "MODELWATCH_THRESHOLDS_FILE",
    kind: "string",
    help: "JSON file of metric → {warn, alert: {min, max}, referenceK}, replacing those metrics' defaults",
  },
  {
    flag: "tap-upstream",
    env: "MODELWATCH_TAP_UPSTREAM",
    kind: "url",
    help: "a model server to put the tap proxy in front of (TF Serving, TorchServe, KServe / OIP v2)",
  },
  {
    flag: "tap-port",
    env: "MODELWATCH_TAP_PORT",
    kind: "int",
    default: "8080",
    min: 0,
    max: 65535,
    help: "the tap proxy's port (with --tap-upstream)",
  },
  {
    flag: "service",
    env: "MODELWATCH_SERVICE",
    kind: "url",
    help: "modelwatch tap: the service to send what it records to (default http://127.0.0.1:<http-port>)",
  },
  {
    flag: "inference-mappings",
    env: "MODELWATCH_INFERENCE_MAPPINGS",
    kind: "string",
    help: 'JSON {"models": {name: {features, classes, output}}}: how to read captured payloads (KServe logger)',
  },
  {
    flag: "models-dir",
    env: "MODELWATCH_MODELS_DIR",
    kind: "string",
    default: "./models",
    help: "the only directory shadow candidates' ONNX files are read from",
  },
  {
    flag: "shadow-config",
    env: "MODELWATCH_SHADOW_CONFIG",
    kind: "string",
    help: 'JSON file {"candidates": [spec, …]}: shadow candidates registered at every start',
  },
  {
    flag: "shadow-queue-records",
    env: "MODELWATCH_SHADOW_QUEUE_RECORDS",
    kind: "int",
    default: "100000",
    min: 1,
    max: 10_000_000,
    help: "predictions waiting for the shadow candidates at most; past it they are dropped (counted)",
  },
  {
    flag: "shadow-batch-rows",
    env: "MODELWATCH_SHADOW_BATCH_ROWS",
    kind: "int",
    default: "512",
    min: 1,
    max: 65_536,
    help: "predictions per shadow inference batch at most",
  },
  {
    flag: "shadow-batch-delay-ms",
    env: "MODELWATCH_SHADOW_BATCH_DELAY_MS",
    kind: "int",
    default: "100",
    min: 1,
    max: 60_000,
    help: "how long a partly filled shadow batch waits for more predictions",
  },
  {
    flag: "categorical-top",
    env: "MODELWATCH_CATEGORICAL_TOP",
    kind: "int",
    default: "20",
    min: 1,
    max: 1000,
    help: "categorical values binned on their own for drift; the rest share one bin",
  },
] as const satisfies readonly Setting[];

export type SettingFlag = (typeof SETTINGS)[number]["flag"];

/**
 * Builds the configuration from flags (which win) and the environment. Throws ConfigError listing every
 * problem found.
 */
export function parseConfig(
  flags: Partial<Record<string, string>>,
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): Config {
  const problems: string[] = [];
  const raw = (s: Setting): string | undefined => {
    const v = flags[s.flag] ?? env[s.env] ?? s.default;
    return v === undefined || v === "" ? undefined : v;
  };
  const values = new Map<string, string | number | string[] | undefined>();
  for (const s of SETTINGS as readonly Setting[]) {
    const v = raw(s);
    const name = `--${s.flag} / ${s.env}`;
    if (v === undefined) {
      values.set(s.flag, s.kind === "list" ? [] : undefined);
      continue;
    }
    switch (s.kind) {
      case "int": {
        const n = Number(v);
        if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n))
          problems.push(`${name}: ${JSON.stringify(v)} is not a whole number`);
        else if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) {
          problems.push(`${name}: ${n} is outside ${s.min} to ${s.max}`);
        } else values.set(s.flag, n);
        break;
      }
      case "url": {
        let ok = false;
        try {
          ok = ["http:", "https:"].includes(new URL(v).protocol);
        } catch {}
        if (!ok) problems.push(`${name}: ${JSON.stringify(v)} is not an http(s) URL`);
        else values.set(s.flag, v);
        break;
      }
      case "identifier":
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v))
          problems.push(`${name}: ${JSON.stringify(v)} must be letters, digits and _`);
        else values.set(s.flag, v);
        break;
      case "list":
        values.set(
          s.flag,
          v
            .split(",")
            .map((t) => t.trim())
            .filter((t) => t !== ""),
        );
        break;
      case "string":
        values.set(s.flag, v);
        break;
    }
  }
  for (const flag of Object.keys(flags)) {
    if (!SETTINGS.some((s) => s.flag === flag))
      problems.push(`--${flag}: unknown option (see modelwatch --help)`);
  }
  const reference = parseReference(String(values.get("reference") ?? "first-day"));
  if (typeof reference === "string") problems.push(`--reference / MODELWATCH_REFERENCE: ${reference}`);
  const tls = readTls(
    values.get("tls-cert") as string | undefined,
    values.get("tls-key") as string | undefined,
    cwd,
  );
  if (typeof tls === "string") problems.push(tls);
  const thresholds = readThresholds(values.get("thresholds-file") as string | undefined, cwd);
  if (Array.isArray(thresholds))
    problems.push(...thresholds.map((p) => `--thresholds-file / MODELWATCH_THRESHOLDS_FILE: ${p}`));
  const mappings = readMappings(values.get("inference-mappings") as string | undefined, cwd);
  if (typeof mappings === "string")
    problems.push(`--inference-mappings / MODELWATCH_INFERENCE_MAPPINGS: ${mappings}`);
  const shadowCandidates = readShadowConfig(values.get("shadow-config") as string | undefined, cwd);
  if (typeof shadowCandidates === "string")
    problems.push(`--shadow-config / MODELWATCH_SHADOW_CONFIG: ${shadowCandidates}`);
  if (values.get("clickhouse-cluster") !== undefined && values.get("clickhouse-url") === undefined)
    problems.push(
      "--clickhouse-cluster / CLICKHOUSE_CLUSTER: a cluster is a ClickHouse server's; set --clickhouse-url / CLICKHOUSE_URL too",
    );
  if (problems.length > 0) throw new ConfigError(problems);

  const get = <T>(flag: SettingFlag) => values.get(flag) as T;
  const ingestTokens = get<string[]>("ingest-tokens");
  const retentionDays = get<number>("retention-days");
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(cwd, path));
  const dataDir = get<string>("data-dir");
  return {
    clickhouse: {
      url: get<string | undefined>("clickhouse-url"),
      username: get<string | undefined>("clickhouse-user"),
      password: get<string | undefined>("clickhouse-password"),
      database: get<string>("database"),
      cluster: get<string | undefined>("clickhouse-cluster"),
    },
    dataDir: absolute(dataDir),
    host: get<string | undefined>("host") ?? (ingestTokens.length > 0 ? "0.0.0.0" : "127.0.0.1"),
    tls: typeof tls === "object" ? tls : undefined,
    httpPort: get<number>("http-port"),
    grpcPort: get<number>("grpc-port"),
    ingestTokens,
    readTokens: get<string[]>("read-tokens"),
    ingestRatePerSecond: get<number>("ingest-rate-limit"),
    maxInflightBytes: get<number>("max-inflight-mb") * 1024 * 1024,
    retentionDays,
    batch: {
      maxBatchRecords: get<number>("batch-max-records"),
      flushIntervalMs: get<number>("batch-flush-interval-ms"),
    },
    decodeThreads: get<number>("decode-threads"),
    tap: {
      upstream: get<string | undefined>("tap-upstream") ? new URL(get<string>("tap-upstream")) : undefined,
      port: get<number>("tap-port"),
      service: get<string | undefined>("service"),
    },
    inferenceMappings: mappings as Record<string, ModelMapping>,
    shadow: {
      modelsDir: absolute(get<string>("models-dir")),
      candidates: shadowCandidates as CandidateSpec[],
      queueRecords: get<number>("shadow-queue-records"),
      batchRows: get<number>("shadow-batch-rows"),
      batchDelayMs: get<number>("shadow-batch-delay-ms"),
    },
    analysis: {
      intervalMs: get<number>("analyze-interval-minutes") * 60_000,
      windowMs: get<number>("window-minutes") * 60_000,
      reference: reference as ReferenceChoice,
      segments: get<string[]>("segments"),
      categoricalTopN: get<number>("categorical-top"),
      thresholds: thresholds as Thresholds,
    },
    spool: {
      dir: absolute(get<string | undefined>("spool-dir") ?? join(dataDir, "spool")),
      maxBytes: get<number>("spool-max-mb") * 1024 * 1024,
    },
    limits: {
      maxBodyBytes: get<number>("max-body-bytes"),
      maxDecompressedBytes: get<number>("max-decompressed-bytes"),
      maxAttributesPerRecord: get<number>("max-attributes"),
      maxFutureMinutes: get<number>("max-future-minutes"),
      maxPastDays: get<number | undefined>("max-past-days") ?? retentionDays,
    },
  };
}

/** Key and certificate, read once at start; undefined without TLS; a problem as text. */
function readTls(
  certPath: string | undefined,
  keyPath: string | undefined,
  cwd: string,
): { key: string; cert: string } | string | undefined {
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined)
    return "--tls-cert / MODELWATCH_TLS_CERT and --tls-key / MODELWATCH_TLS_KEY go together: set both or neither";
  try {
    return {
      cert: readFileSync(resolve(cwd, certPath), "utf8"),
      key: readFileSync(resolve(cwd, keyPath), "utf8"),
    };
  } catch (err) {
    return `--tls-cert / --tls-key: cannot read ${(err as Error).message}`;
  }
}

/** The thresholds file merged over the defaults, or what is wrong with it. */
function readThresholds(path: string | undefined, cwd: string): Thresholds | string[] {
  if (path === undefined) return DEFAULT_THRESHOLDS;
  let text: string;
  try {
    text = readFileSync(resolve(cwd, path), "utf8");
  } catch (err) {
    return [`cannot read ${path}: ${(err as Error).message}`];
  }
  try {
    return parseThresholds(JSON.parse(text));
  } catch (err) {
    return [`${path} is not JSON: ${(err as Error).message}`];
  }
}

/** A JSON file's content (as `{value}`), or why it cannot be read. */
function readJson(path: string, cwd: string): { value: unknown } | string {
  try {
    return { value: JSON.parse(readFileSync(resolve(cwd, path), "utf8")) };
  } catch (err) {
    return `cannot read ${path}: ${(err as Error).message}`;
  }
}

/** The mappings file's models, checked field by field, or what is wrong with it. */
function readMappings(path: string | undefined, cwd: string): Record<string, ModelMapping> | string {
  if (path === undefined) return {};
  const parsed = readJson(path, cwd);
  if (typeof parsed === "string") return parsed;
  const models = (parsed.value as { models?: unknown } | null)?.models;
  if (typeof models !== "object" || models === null || Array.isArray(models))
    return `${path} should be {"models": {"<model>": {"features": [...], "classes": [...], "output": "..."}}}`;
  const out: Record<string, ModelMapping> = {};
  for (const [model, m] of Object.entries(models as Record<string, unknown>)) {
    const o = (m ?? {}) as Record<string, unknown>;
    const list = (v: unknown) =>
      v === undefined || (Array.isArray(v) && v.every((x) => typeof x === "string"));
    if (
      typeof m !== "object" ||
      !list(o.features) ||
      !list(o.classes) ||
      !(o.output === undefined || typeof o.output === "string")
    )
      return `${path}, models.${model}: features and classes are lists of names, output a name`;
    out[model] = o as ModelMapping;
  }
  return out;
}

/** The candidates of the shadow config file (none without one), or what is wrong with it. */
function readShadowConfig(path: string | undefined, cwd: string): CandidateSpec[] | string {
  if (path === undefined) return [];
  const parsed = readJson(path, cwd);
  if (typeof parsed === "string") return parsed;
  const list = (parsed.value as { candidates?: unknown } | null)?.candidates;
  if (!Array.isArray(list)) return `${path} should be {"candidates": [spec, …]}`;
  const specs: CandidateSpec[] = [];
  for (const [i, raw] of list.entries()) {
    try {
      specs.push(parseCandidateSpec(raw));
    } catch (err) {
      return `${path}, candidates[${i}]: ${(err as Error).message}`;
    }
  }
  const names = specs.map((s) => s.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  return twice === undefined ? specs : `${path} names candidate ${twice} twice`;
}

/** A reference choice, or what is wrong with it. */
function parseReference(v: string): ReferenceChoice | string {
  if (v === "first-day" || v === "previous") return { kind: v };
  const [from, to, ...rest] = v.split("/");
  const fromMs = Date.parse(from ?? "");
  const toMs = Date.parse(to ?? "");
  if (rest.length > 0 || Number.isNaN(fromMs) || Number.isNaN(toMs))
    return `${JSON.stringify(v)} is not first-day, previous or FROM/TO (ISO 8601 times)`;
  if (toMs <= fromMs) return `${JSON.stringify(v)} ends before it starts`;
  return { kind: "range", fromMs, toMs };
}

/** The base URL a client on this machine uses to reach a service listening on `host`. */
export function localUrl(host: string, port: number, tls = false): string {
  const scheme = tls ? "https" : "http";
  if (host === "0.0.0.0") return `${scheme}://127.0.0.1:${port}`;
  if (host === "::") return `${scheme}://[::1]:${port}`;
  return host.includes(":") ? `${scheme}://[${host}]:${port}` : `${scheme}://${host}:${port}`;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}
