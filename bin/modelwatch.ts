#!/usr/bin/env -S node --max-semi-space-size=64 --single-threaded-gc
// The flag (also in package.json's start script): a larger young generation for the event loop's isolate,
// which under ingest load allocates a request's buffers and objects many times a second; fewer scavenges
// measured ~10-15 ms less p99 request latency (bench:ingest).
import { parseArgs } from "node:util";
import { OUTPUT_FORMATS, type OutputFormat } from "../query/index.js";
import { CandidateError } from "../shadow/index.js";
import { StoreError } from "../store/index.js";
import { runAnalyze } from "./analyze-command.js";
import { CliError } from "./cli-support.js";
import { ConfigError, isLoopback, parseConfig, SETTINGS } from "./config.js";
import { runDemoCommand } from "./demo-command.js";
import { runReport } from "./report-command.js";
import { startService } from "./service.js";
import { runShadow, type ShadowCommand } from "./shadow-command.js";
import { runSql } from "./sql-command.js";
import { runTap } from "./tap-command.js";

const USAGE = `modelwatch — monitoring for deployed ML models

Usage:
  modelwatch serve [options]              run the collector (OTLP/HTTP and gRPC, /v1/events, /sql, /metrics)
  modelwatch sql "SELECT …" [options]     run a read-only query against the store
      --format table|tsv|csv|json         output (default: table on a terminal, tsv otherwise)
      --param name=value                  value for a {name:Type} placeholder (repeatable)
  modelwatch analyze [options]            compute the metrics of windows now and print them
      --model m                           only this model (repeatable)
      --from t --to t                     windows starting in [from, to) (ISO 8601)
      --json                              every metric row as JSON instead of a summary table
  modelwatch shadow list                  the shadow candidates registered (and, with serve running, live counts)
  modelwatch shadow add spec.json         register a candidate ONNX model (its file in --models-dir)
      --replace                           change a candidate registered already
  modelwatch shadow remove NAME           unregister a candidate (its answers stay)
  modelwatch shadow replay --candidate NAME --from t --to t
                                          run a candidate on the stored predictions of [from, to)
  modelwatch report --model m [--from t] [--to t] [--version v] [--out report.html]
                                          one self-contained HTML file: a model's charts and every value
                                          behind them (default range: the last 7 days)
  modelwatch demo [--duration 60]         send a demo workload (3 models, drift, late labels, a shadow
                                          candidate) to the running service, then live for that many seconds
  modelwatch serve --demo                 the service with the demo workload running inside it
  modelwatch tap --upstream URL [--port 8080] [--service URL]
                                          a recording proxy in front of a model server (TF Serving,
                                          TorchServe, KServe / OIP v2), sending to the service over OTLP
  modelwatch --help

Options (each also read from the environment variable named):
${SETTINGS.map((s) => `  --${s.flag.padEnd(26)} ${s.env.padEnd(36)} ${s.help}`).join("\n")}
`;

async function main(argv: string[]): Promise<number> {
  const options = Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: "string" as const }]));
  let parsed: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...options,
        help: { type: "boolean", short: "h" },
        format: { type: "string" },
        param: { type: "string", multiple: true },
        model: { type: "string", multiple: true },
        from: { type: "string" },
        to: { type: "string" },
        out: { type: "string" },
        version: { type: "string" },
        duration: { type: "string" },
        demo: { type: "boolean" },
        json: { type: "boolean" },
        candidate: { type: "string" },
        replace: { type: "boolean" },
        upstream: { type: "string" },
        port: { type: "string" },
      },
    });
  try {
    parsed = parse();
  } catch (err) {
    process.stderr.write(`modelwatch: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === "help") {
    process.stdout.write(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  const {
    help: _h,
    format,
    param,
    model,
    from,
    to,
    json,
    candidate,
    replace,
    upstream,
    port,
    out,
    version,
    duration,
    demo,
    ...settingFlags
  } = values;
  // `modelwatch tap --upstream URL --port N`: the tap's own names for --tap-upstream and --tap-port.
  const flags: Record<string, string> = { ...(settingFlags as Record<string, string>) };
  if (upstream !== undefined) flags["tap-upstream"] = upstream;
  if (port !== undefined) flags["tap-port"] = port;
  const config = parseConfig(flags, process.env);

  switch (command) {
    case "serve": {
      if (!isLoopback(config.host) && config.ingestTokens.length === 0) {
        process.stderr.write(
          `warning: listening on ${config.host} with no ingest token: anyone who can reach it can write events\n`,
        );
      } else if (config.ingestTokens.length === 0) {
        process.stderr.write(
          "no ingest token configured: listening on loopback only (set MODELWATCH_INGEST_TOKENS to accept remote senders)\n",
        );
      }
      const service = await startService(config, process.env);
      const demoRun = new AbortController();
      if (demo)
        runDemoCommand(
          config,
          Number.POSITIVE_INFINITY,
          (line) => process.stderr.write(`demo: ${line}\n`),
          demoRun.signal,
        ).catch((err) => process.stderr.write(`demo: stopped: ${(err as Error).message}\n`));
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          demoRun.abort();
          process.stderr.write(`${signal}: stopping (flushing accepted records)\n`);
          service.close().then(resolve, (err) => {
            process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
            resolve();
          });
        };
        process.once("SIGTERM", () => stop("SIGTERM"));
        process.once("SIGINT", () => stop("SIGINT"));
      });
      return 0;
    }
    case "sql": {
      const sql = rest.join(" ").trim();
      if (sql === "")
        throw new CliError('modelwatch sql needs a query: modelwatch sql "SELECT count() FROM predictions"');
      const outFormat = (format ?? (process.stdout.isTTY ? "table" : "tsv")) as OutputFormat;
      if (!(outFormat in OUTPUT_FORMATS)) {
        throw new CliError(`--format ${format} is not one of ${Object.keys(OUTPUT_FORMATS).join(", ")}`);
      }
      const params: Record<string, string> = {};
      for (const p of param ?? []) {
        const eq = p.indexOf("=");
        if (eq <= 0) throw new CliError(`--param ${p}: write it as name=value`);
        params[p.slice(0, eq)] = p.slice(eq + 1);
      }
      process.stdout.write(await runSql({ sql, format: outFormat, params }, config));
      return 0;
    }
    case "analyze": {
      const request = { models: model ?? [], fromMs: time("from", from), toMs: time("to", to) };
      const output = await timed("analysing the windows asked for", () =>
        runAnalyze(request, json === true, config),
      );
      process.stdout.write(output);
      return 0;
    }
    case "report": {
      const [only, ...more] = model ?? [];
      if (!only || more.length > 0) throw new CliError("modelwatch report needs one --model NAME");
      const toMs = time("to", to) ?? Date.now() + 60_000;
      const fromMs = time("from", from) ?? toMs - 7 * 86_400_000;
      if (fromMs >= toMs) throw new CliError(`--from ${from} is not before --to ${to}`);
      const target = out ?? `${only}-report.html`;
      await runReport({ model: only, fromMs, toMs, version, out: target }, config, progressLine);
      process.stdout.write(`${target}\n`);
      return 0;
    }
    case "demo": {
      const seconds = duration === undefined ? 60 : Number(duration);
      if (!Number.isFinite(seconds) || seconds < 0)
        throw new CliError(`--duration ${duration}: a number of seconds, 0 or more`);
      process.stdout.write(await runDemoCommand(config, seconds, progressLine));
      return 0;
    }
    case "tap": {
      await runTap(config, (line) => process.stderr.write(`${line}\n`));
      return 0;
    }
    case "shadow": {
      const shadowAction = shadowCommand(rest, { candidate, from, to, replace });
      const run = () => runShadow(shadowAction, config);
      process.stdout.write(
        await (shadowAction.action === "replay" ? timed(`replaying ${shadowAction.candidate}`, run) : run()),
      );
      return 0;
    }
    default:
      process.stderr.write(`modelwatch: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

/** Progress of long work, a line at a time, on a terminal only (scripts get just the result). */
function progressLine(line: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${line}\n`);
}

/** Long work with a start and an end line on a terminal, the end saying how long it took. */
async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  progressLine(`${what}…`);
  const result = await work();
  progressLine(`${what}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

function time(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new CliError(`--${flag} ${v}: not an ISO 8601 time (e.g. 2026-11-28T10:00Z)`);
  return ms;
}

/** `shadow`'s subcommand and its arguments, or a CliError saying what is missing. */
function shadowCommand(
  args: string[],
  flags: { candidate?: string; from?: string; to?: string; replace?: boolean },
): ShadowCommand {
  const [action, arg, ...extra] = args;
  if (extra.length > 0) throw new CliError(`modelwatch shadow ${action}: unexpected ${extra.join(" ")}`);
  switch (action) {
    case "list":
      return { action };
    case "add":
      if (!arg)
        throw new CliError("modelwatch shadow add needs a spec file: modelwatch shadow add spec.json");
      return { action, specFile: arg, replace: flags.replace === true };
    case "remove":
      if (!arg) throw new CliError("modelwatch shadow remove needs the candidate's name");
      return { action, name: arg };
    case "replay": {
      const fromMs = time("from", flags.from);
      const toMs = time("to", flags.to);
      if (!flags.candidate || fromMs === undefined || toMs === undefined)
        throw new CliError("modelwatch shadow replay needs --candidate NAME --from TIME --to TIME");
      if (toMs <= fromMs) throw new CliError(`--to ${flags.to} is not after --from ${flags.from}`);
      return { action, candidate: flags.candidate, range: { fromMs, toMs } };
    }
    default:
      throw new CliError(
        `modelwatch shadow: say list, add, remove or replay (not ${JSON.stringify(action ?? "")})`,
      );
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (
      err instanceof ConfigError ||
      err instanceof CliError ||
      err instanceof StoreError ||
      err instanceof CandidateError
    ) {
      process.stderr.write(`modelwatch: ${err.message}\n`);
    } else {
      process.stderr.write(
        `modelwatch: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
    }
    process.exitCode = 1;
  },
);
