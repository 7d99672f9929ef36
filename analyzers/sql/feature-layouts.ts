import type { Store } from "../../store/index.js";
import { IN_SCOPE_SQL, queryRows, type Scope, scopeParams } from "../scope.js";

/** One ordering of numeric feature names found in a scope: its hash (as the engine computed it) and names. */
export interface NumericLayout {
  hash: string;
  keys: string[];
}

/** Past this many orderings in a scope, features are looked up by name, row by row. */
const MAX_LAYOUTS = 8;

/**
 * The names of each ordering read so far, by hash: the hash is of the names themselves, so they never
 * change, and a run reads only the orderings it has not seen (one statement less per scope and run).
 */
const namesByHash = new Map<string, string[]>();
const REMEMBERED_ORDERINGS = 1024;

/** A scope's predictions and the least and greatest hash of their numeric feature names. */
export interface KeysHashRange {
  rows: number;
  lo: string;
  hi: string;
}

/** The SELECT list of a KeysHashRange over `predictions` rows. */
export const KEYS_HASH_RANGE_SQL =
  "count() AS rows, toString(min(numeric_keys_hash)) AS lo, toString(max(numeric_keys_hash)) AS hi";

/** A KeysHashRange from the row KEYS_HASH_RANGE_SQL selected (none: an empty scope). */
export function keysHashRangeOf(row: KeysHashRange | undefined): KeysHashRange {
  return { rows: Number(row?.rows ?? 0), lo: row?.lo ?? "", hi: row?.hi ?? "" };
}

/** Reads a scope's KeysHashRange. */
async function keysHashRange(store: Store, scope: Scope, windowMs: number): Promise<KeysHashRange> {
  const [row] = await queryRows<KeysHashRange>(
    store,
    `SELECT ${KEYS_HASH_RANGE_SQL} FROM ${store.database}.predictions WHERE ${IN_SCOPE_SQL}`,
    scopeParams(scope, windowMs),
  );
  return keysHashRangeOf(row);
}

/**
 * The orderings of numeric feature names in the scope (by `numeric_keys_hash`), so that binning reads each
 * feature by its position from the values alone: measured ~3× faster than looking every name up in every
 * row. Undefined when there are more than MAX_LAYOUTS. Rows stored after this (with an ordering not seen
 * yet) count as lacking the features here; their windows changed, so the next incremental run counts them.
 * `range`: the scope's, when already read.
 */
export async function numericLayouts(
  store: Store,
  scope: Scope,
  windowMs: number,
  range?: KeysHashRange,
): Promise<NumericLayout[] | undefined> {
  const db = store.database;
  const params = scopeParams(scope, windowMs);
  const { rows, lo, hi } = range ?? (await keysHashRange(store, scope, windowMs));
  // Most scopes have one ordering, which the least and greatest hash show: they come in one row with the
  // scope's counts (scopeFacts); only a scope with several is grouped by hash.
  const hashes =
    rows === 0
      ? []
      : lo === hi
        ? [{ h: lo }]
        : await queryRows<{ h: string }>(
            store,
            `SELECT toString(numeric_keys_hash) AS h FROM ${db}.predictions WHERE ${IN_SCOPE_SQL}
             GROUP BY numeric_keys_hash LIMIT ${MAX_LAYOUTS + 1}`,
            params,
          );
  if (hashes.length > MAX_LAYOUTS) return undefined;
  const layouts: NumericLayout[] = [];
  for (const { h } of hashes) {
    const known = namesByHash.get(h);
    if (known) {
      layouts.push({ hash: h, keys: known });
      continue;
    }
    // The first row of the ordering is enough: the read stops there.
    const [row] = await queryRows<{ keys: string[] }>(
      store,
      `SELECT features_numeric.keys AS keys FROM ${db}.predictions
       WHERE ${IN_SCOPE_SQL} AND numeric_keys_hash = {h:UInt64} LIMIT 1`,
      { ...params, h },
    );
    if (!row) continue;
    if (namesByHash.size >= REMEMBERED_ORDERINGS) namesByHash.clear();
    namesByHash.set(h, row.keys);
    layouts.push({ hash: h, keys: row.keys });
  }
  return layouts;
}

/** How binning reads one numeric feature of a row: whether the row has it, and its value (any when not). */
export interface NumericLookup {
  present: string;
  value: string;
}

/** `NumericLookup.present` of a feature every ordering holds: every row read has it. */
export const EVERY_ROW = "1";

/** How a statement reads numeric features by position (numericByLayout). */
export interface PositionalReads {
  /** How to read a feature, or undefined for a feature no ordering holds. */
  read(name: string): NumericLookup | undefined;
  /**
   * Keeps the rows whose ordering is one of the layouts: a statement reading by position must apply it,
   * since a row stored since with an ordering not seen would be read at the wrong positions. Such a row's
   * window changed, so the next incremental run counts it.
   */
  known: string;
}

/**
 * Numeric features read by position, from the orderings the scope has: a feature's value is the element at
 * its position in `features_numeric.values` (a constant index where every ordering holding it agrees), and
 * a row has it when its ordering is one of those holding it, tested once per distinct set of orderings
 * (named p0, p1, … in the inner query, through `lookups`), or not at all when every ordering holds it
 * (EVERY_ROW: a test and a conversion less per value, 5–15 % of a day's binning).
 */
export function numericByLayout(
  layouts: readonly NumericLayout[],
  lookups: string[],
  params: Record<string, unknown>,
): PositionalReads {
  const presence = new Map<string, string>();
  layouts.forEach((l, j) => {
    params[`h${j}`] = l.hash;
  });
  // As numbers: the client quotes strings, which an Array(UInt64) parameter refuses.
  const hashes = (js: readonly number[]) => js.map((j) => BigInt(layouts[j]?.hash ?? 0));
  params.hs_known = hashes(layouts.map((_, j) => j));
  const read = (name: string): NumericLookup | undefined => {
    const holders = layouts
      .map((l, j) => ({ j, position: l.keys.indexOf(name) + 1 }))
      .filter((h) => h.position > 0);
    const last = holders[holders.length - 1];
    if (last === undefined) return undefined;
    const signature = holders.map((h) => h.j).join(",");
    let present = holders.length === layouts.length ? EVERY_ROW : presence.get(signature);
    if (present === undefined) {
      present = `p${presence.size}`;
      presence.set(signature, present);
      params[`hs${present}`] = hashes(holders.map((h) => h.j));
      lookups.push(`has({hs${present}:Array(UInt64)}, numeric_keys_hash) AS ${present}`);
    }
    const at = (position: number) => `features_numeric.values[${position}]`;
    const value = holders.every((h) => h.position === last.position)
      ? at(last.position)
      : `multiIf(${holders
          .slice(0, -1)
          .map((h) => `numeric_keys_hash = {h${h.j}:UInt64}, ${at(h.position)}`)
          .join(", ")}, ${at(last.position)})`;
    return { present, value };
  };
  return { read, known: "has({hs_known:Array(UInt64)}, numeric_keys_hash)" };
}

/** A numeric feature looked up by name in every row (past MAX_LAYOUTS orderings), as key index `i`. */
export function numericByName(
  name: string,
  i: number,
  lookups: string[],
  params: Record<string, unknown>,
): NumericLookup {
  params[`k${i}`] = name;
  lookups.push(`indexOf(features_numeric.keys, {k${i}:String}) AS a${i}`);
  return { present: `a${i} != 0`, value: `features_numeric.values[a${i}]` };
}
