import { RowBinaryReader, type Store } from "../store/index.js";
import { answerRows } from "./answers.js";
import type { SkipReason } from "./candidate.js";
import { inferBatch } from "./infer.js";
import type { OpenCandidate } from "./open-candidate.js";
import type { CandidateRegistry } from "./registry.js";

export interface ReplayRange {
  /** Event time of the production predictions, epoch ms: [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  /** Predictions read, run and written at a time, about (pages are whole minutes); default 65,536. */
  pageRows?: number;
}

export interface ReplayReport {
  /** Production predictions the candidate answered. */
  inferred: number;
  /** Predictions it could not be run on, by reason. */
  skipped: Record<SkipReason, number>;
  /** Time spent in the model, summed over batches. */
  inferenceMs: number;
}

/** One page of stored predictions: those with every feature the candidate needs, features row-major. */
interface Page {
  timeMs: number[];
  versions: string[];
  ids: string[];
  features: Float32Array;
  rows: number;
  /** Read but lacking a feature (or holding it as text), by reason. */
  skipped: Record<SkipReason, number>;
}

const PAGE_ROWS = 65_536;
const MINUTE_MS = 60_000;

/**
 * Runs a candidate on the stored predictions of the model it shadows, in event-time order, and writes its
 * answers to `shadow_predictions` (a repeated replay replaces them). Predictions lacking a feature the
 * candidate needs are counted, not run. Rows move as RowBinary both ways, and the next page is read while
 * the current one is run and written. Throws StoreError when the store fails.
 */
export async function replayCandidate(
  store: Store,
  candidate: OpenCandidate,
  range: ReplayRange,
): Promise<ReplayReport> {
  const report: ReplayReport = {
    inferred: 0,
    skipped: { missing_feature: 0, wrong_type: 0 },
    inferenceMs: 0,
  };
  const pages = await pageRanges(store, candidate.spec.shadows, range);
  let reading = pages[0] ? readPage(store, candidate, pages[0]) : undefined;
  for (let p = 1; reading; p++) {
    const page: Page = await reading;
    const next = pages[p];
    reading = next ? readPage(store, candidate, next) : undefined; // read ahead while this one runs
    report.skipped.missing_feature += page.skipped.missing_feature;
    report.skipped.wrong_type += page.skipped.wrong_type;
    if (page.rows === 0) continue;
    const { answers, latencyMs } = await inferBatch(candidate, page.features, page.rows);
    report.inferenceMs += latencyMs;
    report.inferred += page.rows;
    await store.insertRows(
      "shadow_predictions",
      answerRows(
        candidate,
        { timeMs: page.timeMs, versions: page.versions, ids: page.ids },
        answers,
        latencyMs,
      ),
    );
  }
  return report;
}

/** Replays a registered candidate, opened for the replay and released after. */
export async function replayRegistered(
  store: Store,
  registry: CandidateRegistry,
  name: string,
  range: ReplayRange,
): Promise<ReplayReport> {
  const candidate = await registry.open(name);
  try {
    return await replayCandidate(store, candidate, range);
  } finally {
    await candidate.session.release();
  }
}

interface PageRange {
  fromMs: number;
  toMs: number;
  /** Rows counted in it when the replay started. */
  rows: number;
}

/**
 * The range cut into pages of whole minutes holding about `pageRows` predictions each (a busier minute is a
 * page of its own), so each page is read by its time range through the table's order, with no sorting.
 */
async function pageRanges(store: Store, model: string, range: ReplayRange): Promise<PageRange[]> {
  const rs = await store.client.query({
    query: `SELECT intDiv(toUnixTimestamp64Milli(time), ${MINUTE_MS}) * ${MINUTE_MS} AS minute, count() AS n
            FROM ${store.database}.predictions
            WHERE model = {model:String}
              AND time >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
              AND time < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
            GROUP BY minute ORDER BY minute`,
    query_params: { model, from_ms: range.fromMs, to_ms: range.toMs },
    format: "JSONEachRow",
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const pages: PageRange[] = [];
  let open: PageRange | undefined;
  for (const { minute, n } of await rs.json<{ minute: number; n: number }>()) {
    const from = Math.max(range.fromMs, Number(minute));
    const to = Math.min(range.toMs, Number(minute) + MINUTE_MS);
    if (open && open.rows + Number(n) <= (range.pageRows ?? PAGE_ROWS)) {
      open.toMs = to;
      open.rows += Number(n);
    } else {
      if (open) pages.push(open);
      open = { fromMs: from, toMs: to, rows: Number(n) };
    }
  }
  if (open) pages.push(open);
  // Pages meet end to end, so a prediction stored after the count, between two counted minutes, is read too.
  for (let i = 1; i < pages.length; i++) (pages[i] as PageRange).fromMs = (pages[i - 1] as PageRange).toMs;
  return pages;
}

async function readPage(store: Store, candidate: OpenCandidate, range: PageRange): Promise<Page> {
  const { spec } = candidate;
  const width = candidate.features.length;
  const bytes = await store.queryRowBinary(
    // Each feature is looked up once: its position in the row's map (0 when absent), then its value there.
    // Status 0: every feature there; 1: one missing; 2: one there as text, not a number.
    `SELECT ms, model_version, prediction_id,
       multiIf(arrayAll(i -> i > 0, at), 0,
               arrayExists((i, f) -> i = 0 AND has(text_keys, f), at, {features:Array(String)}), 2, 1) AS status,
       arrayMap(i -> toFloat32(values[i]), at) AS x
     FROM (
       SELECT toUnixTimestamp64Milli(time) AS ms, model_version, prediction_id,
         features_numeric.values AS values, features_categorical.keys AS text_keys,
         arrayMap(f -> indexOf(features_numeric.keys, f), {features:Array(String)}) AS at
       FROM ${store.database}.predictions
       WHERE model = {model:String}
         AND time >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
         AND time < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
     )`,
    { model: spec.shadows, features: candidate.features, from_ms: range.fromMs, to_ms: range.toMs },
  );
  const r = new RowBinaryReader(bytes);
  const page: Page = {
    timeMs: [],
    versions: [],
    ids: [],
    features: new Float32Array(Math.max(1, range.rows) * width),
    rows: 0,
    skipped: { missing_feature: 0, wrong_type: 0 },
  };
  while (!r.done) {
    const ms = r.int64();
    const version = r.string();
    const id = r.string();
    const status = r.uint8();
    if ((page.rows + 1) * width > page.features.length) {
      // More rows than counted (stored since): room for them.
      const grown = new Float32Array(page.features.length * 2);
      grown.set(page.features);
      page.features = grown;
    }
    // A complete row's features land in place; a skipped one's are overwritten by the next row.
    r.float32ArrayInto(page.features, page.rows * width);
    if (status !== 0) {
      page.skipped[status === 2 ? "wrong_type" : "missing_feature"]++;
      continue;
    }
    page.timeMs.push(ms);
    page.versions.push(version);
    page.ids.push(id);
    page.rows++;
  }
  page.features = page.features.subarray(0, page.rows * width);
  return page;
}
