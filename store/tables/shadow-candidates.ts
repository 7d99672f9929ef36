/**
 * `shadow_candidates`: the candidate models registered to run in shadow, by name, each with its spec as
 * the registering client gave it (JSON; the shadow runner owns its meaning). A removal is a row too, so the
 * newest row of a name says whether it is registered; the table is tiny and read whole.
 */
export function shadowCandidatesDdl(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.shadow_candidates
(
  name          String,
  spec          String,
  removed       UInt8,
  registered_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(registered_at)
ORDER BY name`;
}

/** One registration (or removal) of a candidate. */
export interface ShadowCandidateRow {
  name: string;
  /** The spec as JSON text; empty for a removal. */
  spec: string;
  removed: boolean;
}
