import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Hono } from "hono";
import { HttpError, readAuth } from "../common/index.js";
import type { Store } from "../store/index.js";
import { modelHealth, modelView } from "./data.js";
import { type Assets, modelPage, overviewPage } from "./html.js";

export interface WebRoutesOptions {
  /** The read tokens; empty → open. A browser is asked for one by Basic auth (any user, token as password). */
  readTokens: readonly string[];
}

/** uPlot as the installed package ships it: served by the page, inlined into reports. No CDN. */
export function uplotAssets(): { script: string; style: string } {
  const require = createRequire(import.meta.url);
  const dist = (file: string) => require.resolve(`uplot/dist/${file}`);
  return {
    script: readFileSync(dist("uPlot.iife.min.js"), "utf8"),
    style: readFileSync(dist("uPlot.min.css"), "utf8"),
  };
}

const DAY_MS = 86_400_000;

/** `from` / `to` query values (ISO times or epoch ms); by default the last `days` days. */
export function timeRange(
  from: string | undefined,
  to: string | undefined,
  now: number,
  days = 7,
): { fromMs: number; toMs: number } {
  const at = (s: string, name: string) => {
    const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
    if (!Number.isFinite(ms))
      throw new HttpError(400, "bad_time", `${name} ${JSON.stringify(s)} is not a time`);
    return ms;
  };
  const toMs = to ? at(to, "to") : now + 60_000;
  const fromMs = from ? at(from, "from") : toMs - days * DAY_MS;
  if (fromMs >= toMs) throw new HttpError(400, "bad_range", "from must be before to");
  return { fromMs, toMs };
}

/**
 * The first look without Grafana: `GET /` lists the models with their health, `GET /models/:model` (with
 * `version`, `from`, `to`) charts one, `GET /report?model=…` answers the self-contained report file that
 * `modelwatch report` writes, and `/assets/*` serves uPlot.
 */
export function webRoutes(store: Store, options: WebRoutesOptions, now: () => number = Date.now): Hono {
  const app = new Hono();
  const assets = uplotAssets();
  const linked: Assets = { kind: "linked", base: "" };
  const auth = readAuth(options.readTokens, "read");
  const guarded = ["/", "/models/*", "/report", "/assets/*"];
  for (const path of guarded)
    app.use(path, async (c, next) => {
      try {
        return await auth(c, next);
      } catch (err) {
        if (!(err instanceof HttpError) || err.status !== 401) throw err;
        // Browsers answer a Basic challenge with a prompt; the read token goes in the password field.
        return c.text(err.message, 401, {
          "www-authenticate": 'Basic realm="modelwatch: the read token as password"',
        });
      }
    });
  app.get("/assets/uplot.iife.min.js", (c) =>
    c.body(assets.script, 200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "max-age=86400",
    }),
  );
  app.get("/assets/uplot.min.css", (c) =>
    c.body(assets.style, 200, {
      "content-type": "text/css; charset=utf-8",
      "cache-control": "max-age=86400",
    }),
  );
  app.get("/", async (c) => c.html(overviewPage(await modelHealth(store, now()), linked)));
  /** The view a request asks for: its model, `version`, `from` and `to`; 404 when nothing was analysed. */
  const viewFor = async (model: string, query: (name: string) => string | undefined) => {
    const range = timeRange(query("from"), query("to"), now());
    const view = await modelView(store, model, { ...range, version: query("version") });
    if (!view) throw new HttpError(404, "no_model", `no analysed window of ${model} in the range`);
    return view;
  };
  app.get("/models/:model", async (c) =>
    c.html(modelPage(await viewFor(c.req.param("model"), (n) => c.req.query(n)), linked)),
  );
  app.get("/report", async (c) => {
    const model = c.req.query("model");
    if (!model) throw new HttpError(400, "missing_model", "name the model: /report?model=<name>");
    const view = await viewFor(model, (n) => c.req.query(n));
    return c.html(modelPage(view, { kind: "inline", ...assets }, { numbers: true }));
  });
  return app;
}
