import type { Store } from "../store/index.js";
import type { ReferenceChoice } from "./options.js";
import { queryRows, type Scope } from "./scope.js";

const DAY_MS = 86_400_000;

/** A fixed reference: the windows it spans, and how rows name it. */
export interface BaselineRange {
  fromMs: number;
  toMs: number;
  label: string;
}

/**
 * The baseline a model version's windows are compared with, or undefined when there is none yet: for
 * "first-day", the first UTC day that starts at or after the version's first prediction, once that day is
 * over (a partial day would move under the windows compared with it).
 */
export async function baselineOf(
  store: Store,
  model: string,
  modelVersion: string,
  choice: ReferenceChoice,
  nowMs: number,
): Promise<BaselineRange | undefined> {
  if (choice.kind === "previous") return undefined;
  if (choice.kind === "range")
    return { ...choice, label: `baseline ${iso(choice.fromMs)}/${iso(choice.toMs)}` };
  // In the table's own order, so the engine reads one granule instead of the version's every time.
  const [row] = await queryRows<{ first: number }>(
    store,
    `SELECT toUnixTimestamp64Milli(time) AS first FROM ${store.database}.predictions
     WHERE model = {model:String} AND model_version = {version:String}
     ORDER BY model, model_version, time LIMIT 1`,
    { model, version: modelVersion },
  );
  if (row === undefined) return undefined;
  const first = Number(row.first);
  const fromMs = Math.ceil(first / DAY_MS) * DAY_MS;
  const toMs = fromMs + DAY_MS;
  if (toMs > nowMs) return undefined;
  return { fromMs, toMs, label: `baseline ${iso(fromMs)}/${iso(toMs)}` };
}

/** Every window start in a range, as a scope (windows without data simply contribute nothing). */
export function rangeScope(
  model: string,
  modelVersion: string,
  range: BaselineRange,
  windowMs: number,
): Scope {
  const windowStartsMs: number[] = [];
  for (let w = Math.floor(range.fromMs / windowMs) * windowMs; w < range.toMs; w += windowMs)
    windowStartsMs.push(w);
  return { model, modelVersion, windowStartsMs };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}
