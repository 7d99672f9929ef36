import { runDemo } from "../demo/run.js";
import { CliError, serviceAnswers } from "./cli-support.js";
import { type Config, localUrl } from "./config.js";

/**
 * `modelwatch demo [--duration s]`: the demo's traffic (demo/) sent to the running service over OTLP, then
 * live for `durationS` seconds. `serve --demo` runs the same inside the service until it stops.
 */
export async function runDemoCommand(
  config: Config,
  durationS: number,
  progress: (line: string) => void,
  signal?: AbortSignal,
): Promise<string> {
  const base = localUrl(config.host, config.httpPort, config.tls !== undefined);
  if (base.startsWith("https:"))
    throw new CliError("the demo sends over plain HTTP: run it against a service without --tls-*");
  if (!(await serviceAnswers(base)))
    throw new CliError(
      `no service answers at ${base}: start one first (npm start), or run npm start -- --demo`,
    );
  const summary = await runDemo({
    baseUrl: base,
    ingestToken: config.ingestTokens[0],
    readToken: config.readTokens[0],
    modelsDir: config.shadow.modelsDir,
    durationS,
    signal,
    progress,
  });
  return `sent ${summary.predictions} predictions and ${summary.labels} labels; open ${base}/\n`;
}
