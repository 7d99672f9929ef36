import { OUTPUT_FORMATS, type OutputFormat } from "../query/index.js";
import { CliError, localFetch, serviceAnswers, withOwnStore } from "./cli-support.js";
import { type Config, localUrl } from "./config.js";

export interface SqlRequest {
  sql: string;
  format: OutputFormat;
  params: Record<string, string>;
}

/**
 * Runs an analyst query. With a service running it asks the service's /sql endpoint (in embedded mode the
 * service owns the store); with none it opens the store itself, read-only all the same.
 */
export async function runSql(req: SqlRequest, config: Config): Promise<Buffer> {
  const base = localUrl(config.host, config.httpPort, config.tls !== undefined);
  const ca = config.tls?.cert;
  if (await serviceAnswers(base, ca)) return viaService(base, req, config.readTokens[0], ca);
  return withOwnStore(config, base, (store) =>
    store.queryReadOnly({ sql: req.sql, defaultFormat: OUTPUT_FORMATS[req.format], params: req.params }),
  );
}

async function viaService(
  base: string,
  req: SqlRequest,
  token: string | undefined,
  ca: string | undefined,
): Promise<Buffer> {
  const url = new URL(`${base}/sql`);
  url.searchParams.set("default_format", OUTPUT_FORMATS[req.format]);
  // Include what was just sent: records acknowledged but still in the service's spool.
  url.searchParams.set("fresh", "1");
  for (const [k, v] of Object.entries(req.params)) url.searchParams.set(`param_${k}`, v);
  const res = await localFetch(
    url.toString(),
    { method: "POST", body: req.sql, headers: token ? { authorization: `Bearer ${token}` } : {} },
    ca,
  );
  const body = Buffer.from(await res.arrayBuffer());
  if (!res.ok) {
    let message = body.toString("utf8");
    try {
      message = (JSON.parse(message) as { error: { message: string } }).error.message;
    } catch {}
    throw new CliError(`the service at ${base} refused the query (${res.status}): ${message}`);
  }
  return body;
}
