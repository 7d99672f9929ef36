import { readFileSync } from "node:fs";
import {
  CandidateRegistry,
  type CandidateSpec,
  type MirrorStats,
  parseCandidateSpec,
  type RegisteredCandidate,
  type ReplayRange,
  type ReplayReport,
  replayRegistered,
} from "../shadow/index.js";
import { CliError, localFetch, serviceAnswers, textTable, withOwnStore } from "./cli-support.js";
import { type Config, localUrl } from "./config.js";

/** One `modelwatch shadow …` subcommand, its arguments parsed. */
export type ShadowCommand =
  | { action: "list" }
  | { action: "add"; specFile: string; replace: boolean }
  | { action: "remove"; name: string }
  | { action: "replay"; candidate: string; range: ReplayRange };

type Listed = RegisteredCandidate & { running?: boolean };

/**
 * `modelwatch shadow add|list|remove|replay`. With a service running the service does it (it owns the
 * embedded store and runs the live mirror, which picks a change up at once); with none the command opens
 * the store itself, and `serve` runs what is registered when it starts.
 */
export async function runShadow(command: ShadowCommand, config: Config): Promise<string> {
  const base = localUrl(config.host, config.httpPort, config.tls !== undefined);
  const ca = config.tls?.cert;
  const service = (await serviceAnswers(base, ca)) ? new ServiceClient(base, config, ca) : undefined;
  switch (command.action) {
    case "list": {
      const { candidates, live } = service
        ? await service.call<{ candidates: Listed[]; live: MirrorStats }>("GET", "/shadow/candidates", "read")
        : { candidates: await direct(config, base, (r) => r.list()), live: undefined };
      return listing(candidates, live);
    }
    case "add": {
      const spec = readSpec(command.specFile);
      if (service) {
        const r = await service.call<{ running: boolean; problem?: string }>(
          "POST",
          `/shadow/candidates${command.replace ? "?replace=1" : ""}`,
          "ingest",
          JSON.stringify(spec),
        );
        return r.running
          ? `registered ${spec.name} (shadows ${spec.shadows}); running on live traffic\n`
          : `registered ${spec.name} (shadows ${spec.shadows}), but the service cannot run it: ${r.problem}\n`;
      }
      await direct(config, base, async (r) => {
        await (await r.add(spec, { replace: command.replace })).session.release();
      });
      return `registered ${spec.name} (shadows ${spec.shadows}); it runs on live traffic once serve starts\n`;
    }
    case "remove":
      if (service)
        await service.call("DELETE", `/shadow/candidates/${encodeURIComponent(command.name)}`, "ingest");
      else await direct(config, base, (r) => r.remove(command.name));
      return `removed ${command.name} (its answers so far stay in shadow_predictions)\n`;
    case "replay": {
      const iso = (ms: number) => new Date(ms).toISOString();
      const body = {
        candidate: command.candidate,
        from: iso(command.range.fromMs),
        to: iso(command.range.toMs),
      };
      const report = service
        ? (
            await service.call<{ report: ReplayReport }>(
              "POST",
              "/shadow/replay",
              "ingest",
              JSON.stringify(body),
            )
          ).report
        : await withOwnStore(config, base, (store) =>
            replayRegistered(
              store,
              new CandidateRegistry(store, config.shadow.modelsDir),
              command.candidate,
              command.range,
            ),
          );
      const { missing_feature: missing, wrong_type: text } = report.skipped;
      const skipped = [
        missing > 0 ? `${missing} skipped (a feature missing)` : "",
        text > 0 ? `${text} skipped (a feature given as text)` : "",
      ].filter(Boolean);
      return `replayed ${command.candidate} over ${body.from} to ${body.to}: ${report.inferred} predictions answered${skipped.map((s) => `, ${s}`).join("")}; ${Math.round(report.inferenceMs)} ms in the model\n`;
    }
  }
}

function direct<T>(
  config: Config,
  base: string,
  work: (registry: CandidateRegistry) => Promise<T>,
): Promise<T> {
  return withOwnStore(config, base, (store) => work(new CandidateRegistry(store, config.shadow.modelsDir)));
}

/** The spec file, checked field by field; a problem names the file and the field. */
function readSpec(path: string): CandidateSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new CliError(`cannot read the candidate spec ${path}: ${(err as Error).message}`);
  }
  try {
    return parseCandidateSpec(raw);
  } catch (err) {
    throw new CliError(`${path}: ${(err as Error).message}`);
  }
}

class ServiceClient {
  constructor(
    private readonly base: string,
    private readonly config: Config,
    private readonly ca: string | undefined,
  ) {}

  async call<T>(method: string, path: string, role: "read" | "ingest", body?: string): Promise<T> {
    const token = role === "read" ? this.config.readTokens[0] : this.config.ingestTokens[0];
    const res = await localFetch(
      `${this.base}${path}`,
      {
        method,
        body,
        headers: {
          ...(body ? { "content-type": "application/json" } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      this.ca,
    );
    const answer = (await res.json().catch(() => ({}))) as T & { error?: { message: string } };
    if (!res.ok)
      throw new CliError(
        `the service at ${this.base} refused (${res.status}): ${answer.error?.message ?? ""}`,
      );
    return answer;
  }
}

/** One line per candidate, then the live mirror's counts when a service runs. */
function listing(candidates: readonly Listed[], live: MirrorStats | undefined): string {
  if (candidates.length === 0) return "no shadow candidates registered\n";
  const header = ["candidate", "shadows", "file", "features", "output", "live"];
  const lines = candidates.map((c) => {
    const liveText = c.running === undefined ? "-" : c.running ? "running" : "not running";
    if ("problem" in c) return [c.name, "-", "-", "-", `unreadable spec: ${c.problem}`, liveText];
    const { spec } = c;
    const output =
      spec.output.kind === "probabilities" ? `classes ${spec.output.classes.join(",")}` : "value";
    return [
      c.name,
      spec.shadows,
      spec.file,
      spec.input.features ? String(spec.input.features.length) : "the model's",
      output,
      liveText,
    ];
  });
  let text = textTable(header, lines);
  if (live) {
    const skipped = Object.values(live.skipped).reduce(
      (n, s) => n + Object.values(s).reduce((a, b) => a + (b ?? 0), 0),
      0,
    );
    const answered = Object.values(live.inferred).reduce((a, b) => a + b, 0);
    text += `live since start: ${live.mirrored} predictions mirrored, ${answered} answers, ${skipped} skipped, ${live.dropped.queue_full} dropped (queue full)\n`;
  }
  return text;
}
