import { writeFileSync } from "node:fs";
import { modelPage, modelView, uplotAssets } from "../web/index.js";
import { CliError, localFetch, serviceAnswers, withOwnStore } from "./cli-support.js";
import { type Config, localUrl } from "./config.js";

export interface ReportRequest {
  model: string;
  fromMs: number;
  toMs: number;
  version?: string;
  out: string;
}

/**
 * `modelwatch report`: one self-contained HTML file (uPlot and the data inlined) with a model's charts and
 * every value behind them. With a service running the service renders it (it owns the embedded store);
 * with none the command opens the store itself. `progress` says what it is doing.
 */
export async function runReport(
  r: ReportRequest,
  config: Config,
  progress: (line: string) => void,
): Promise<string> {
  const base = localUrl(config.host, config.httpPort, config.tls !== undefined);
  const ca = config.tls?.cert;
  let html: string;
  if (await serviceAnswers(base, ca)) {
    progress(`asking the service at ${base} for ${r.model}'s report`);
    const query = new URLSearchParams({
      model: r.model,
      from: String(r.fromMs),
      to: String(r.toMs),
      ...(r.version ? { version: r.version } : {}),
    });
    const token = config.readTokens[0];
    const res = await localFetch(
      `${base}/report?${query}`,
      { headers: token ? { authorization: `Bearer ${token}` } : {} },
      ca,
    );
    html = await res.text();
    if (!res.ok) throw new CliError(`the service could not make the report (${res.status}): ${html}`);
  } else {
    progress(`reading ${r.model} from the store at ${config.clickhouse.url ?? config.dataDir}`);
    html = await withOwnStore(config, base, async (store) => {
      const view = await modelView(store, r.model, { fromMs: r.fromMs, toMs: r.toMs, version: r.version });
      if (!view)
        throw new CliError(`no analysed window of ${r.model} in the range (run modelwatch analyze first?)`);
      return modelPage(view, { kind: "inline", ...uplotAssets() }, { numbers: true });
    });
  }
  writeFileSync(r.out, html);
  progress(`wrote ${r.out} (${Math.round(html.length / 1024)} KiB)`);
  return r.out;
}
