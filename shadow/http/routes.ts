import { Hono } from "hono";
import {
  bearerAuth,
  errorResponse,
  HttpError,
  isoTimeField,
  jsonObject,
  parseJson,
  readBody,
} from "../../common/index.js";
import type { Store } from "../../store/index.js";
import { parseCandidateSpec } from "../candidate.js";
import { CandidateError } from "../errors.js";
import type { MirrorStats } from "../live/mirror.js";
import type { CandidateRegistry } from "../registry.js";
import { type ReplayRange, replayRegistered } from "../replay.js";

export interface ShadowRoutesOptions {
  /** Tokens that may list candidates (the read tokens); empty → no token needed. */
  readTokens: readonly string[];
  /** Tokens that may add, remove and replay (the ingest tokens: these write to the store). */
  writeTokens: readonly string[];
  /** Hands the registered set to the live mirror; resolves with the candidates it refused and why. */
  syncMirror(): Promise<Array<{ name: string; message: string }>>;
  /** The live mirror's counts and the candidates running in it. */
  live(): { running: readonly string[]; stats: MirrorStats };
  /** Makes the predictions acknowledged so far visible, so a replay includes what was just sent. */
  flushIngest(): Promise<void>;
  /** Told of an unexpected error (answered 500). */
  onInternalError?: (err: unknown) => void;
}

const SMALL_BODY = { maxBodyBytes: 256 * 1024, maxDecompressedBytes: 256 * 1024 };

/**
 * The shadow candidates on the service that owns the store — what `modelwatch shadow …` asks when a
 * service runs: `GET /shadow/candidates`, `POST /shadow/candidates` (a spec; `?replace=1` to change one),
 * `DELETE /shadow/candidates/{name}`, `POST /shadow/replay` (`{"candidate", "from", "to"}`).
 */
export function shadowRoutes(store: Store, registry: CandidateRegistry, options: ShadowRoutesOptions): Hono {
  const app = new Hono();
  const read = bearerAuth(options.readTokens, "read");
  const write = bearerAuth(options.writeTokens, "ingest");
  app.onError((err) =>
    errorResponse(err instanceof CandidateError ? asHttp(err) : err, options.onInternalError),
  );

  app.get("/shadow/candidates", read, async (c) => {
    const { running, stats } = options.live();
    const candidates = (await registry.list()).map((r) => ({ ...r, running: running.includes(r.name) }));
    return c.json({ candidates, live: stats });
  });

  app.post("/shadow/candidates", write, async (c) => {
    const spec = parseCandidateSpec(parseJson((await readBody(c, SMALL_BODY)).toString("utf8")));
    const open = await registry.add(spec, { replace: c.req.query("replace") === "1" });
    await open.session.release();
    const refused = await options.syncMirror();
    const problem = refused.find((r) => r.name === spec.name);
    return c.json({ candidate: spec, running: problem === undefined, problem: problem?.message }, 201);
  });

  app.delete("/shadow/candidates/:name", write, async (c) => {
    await registry.remove(c.req.param("name"));
    await options.syncMirror();
    return c.json({ removed: c.req.param("name") });
  });

  app.post("/shadow/replay", write, async (c) => {
    const { candidate, range } = parseReplayRequest((await readBody(c, SMALL_BODY)).toString("utf8"));
    await options.flushIngest();
    return c.json({ candidate, report: await replayRegistered(store, registry, candidate, range) });
  });
  return app;
}

/** `{"candidate": name, "from": ISO time, "to": ISO time}`, checked field by field. */
export function parseReplayRequest(text: string): { candidate: string; range: ReplayRange } {
  const o = jsonObject(text, '{"candidate": name, "from": time, "to": time}');
  if (typeof o.candidate !== "string" || o.candidate === "")
    throw new HttpError(400, "bad_request", "candidate must be a candidate's name");
  const range = { fromMs: isoTimeField(o, "from"), toMs: isoTimeField(o, "to") };
  if (range.toMs <= range.fromMs) throw new HttpError(400, "bad_request", "to must be after from");
  return { candidate: o.candidate, range };
}

/** A refused candidate as an answer: what to fix is in the message. */
function asHttp(err: CandidateError): HttpError {
  const status = err.code === "EXISTS" ? 409 : err.code === "UNKNOWN" ? 404 : 400;
  return new HttpError(status, `candidate_${err.code.toLowerCase()}`, err.message);
}
