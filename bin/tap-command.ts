import { otlpLogsJson } from "../collector/index.js";
import { CliError } from "./cli-support.js";
import { type Config, localUrl } from "./config.js";
import { startConfiguredTap } from "./tap-wiring.js";

/**
 * `modelwatch tap --upstream URL`: the tap proxy as its own process, in front of a model server. What it
 * records goes to the modelwatch service over OTLP/HTTP (`/v1/logs`, with the first ingest token), so it
 * works beside an embedded `serve` and many taps can feed one service. Runs until SIGTERM or SIGINT, then
 * sends what it still holds.
 */
export async function runTap(config: Config, log: (line: string) => void): Promise<void> {
  const upstream = config.tap.upstream;
  if (!upstream)
    throw new CliError("modelwatch tap needs --upstream URL (the model server to put it in front of)");
  const service = config.tap.service ?? localUrl(config.host, config.httpPort, config.tls !== undefined);
  const token = config.ingestTokens[0];
  const counts = new Map<string, number>();
  const count = (what: string, n = 1) => counts.set(what, (counts.get(what) ?? 0) + n);
  const tap = await startConfiguredTap(config, upstream, {
    write: async (batch) => {
      const { body, report } = otlpLogsJson(batch);
      if (report.recorded === 0) return report;
      const res = await fetch(`${service}/v1/logs`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body,
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`the service answered ${res.status}`);
      return report;
    },
    dropped: (n, reason) => count(`dropped_${reason}`, n),
    outcome: (outcome, n) => count(outcome, n),
    failed: (err) => log(`tap proxy stopped: ${err.message}`),
  });
  log(
    `tap proxy listening on ${config.host}:${tap.port}, in front of ${upstream.origin}, recording to ${service}`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await tap.close();
  log(`tap stopped: ${[...counts].map(([k, v]) => `${k} ${v}`).join(", ") || "nothing proxied"}`);
}
