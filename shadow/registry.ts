import { type Store, StoreError } from "../store/index.js";
import { type CandidateSpec, parseCandidateSpec } from "./candidate.js";
import { CandidateError } from "./errors.js";
import { type OpenCandidate, type OpenOptions, openCandidate } from "./open-candidate.js";

/** A registered candidate as listed: its spec, or why the stored spec no longer reads. */
export type RegisteredCandidate = { name: string; spec: CandidateSpec } | { name: string; problem: string };

/**
 * The candidates registered to run in shadow, kept in `shadow_candidates` so the service and the CLI
 * (when it opens the store itself) see the same set. A candidate is checked against its model file before
 * it is stored, so what is registered can run.
 */
export class CandidateRegistry {
  constructor(
    private readonly store: Store,
    private readonly modelsDir: string,
  ) {}

  /** Every registered candidate, by name. A stored spec that no longer parses is listed with the reason. */
  async list(): Promise<RegisteredCandidate[]> {
    const rows = await this.read(
      `SELECT name, argMax(spec, registered_at) AS spec, argMax(removed, registered_at) AS removed
       FROM ${this.store.database}.shadow_candidates
       GROUP BY name HAVING removed = 0 ORDER BY name`,
      {},
    );
    return rows.map(({ name, spec }) => {
      try {
        return { name, spec: parseCandidateSpec(JSON.parse(spec)) };
      } catch (err) {
        return { name, problem: err instanceof Error ? err.message : String(err) };
      }
    });
  }

  /** The registered candidate of that name; CandidateError("UNKNOWN") when there is none. */
  async get(name: string): Promise<CandidateSpec> {
    const found = (await this.list()).find((c) => c.name === name);
    if (!found) throw unknown(name);
    if ("problem" in found)
      throw new CandidateError(
        "SPEC",
        `candidate ${name} is registered with a spec that does not read: ${found.problem}`,
      );
    return found.spec;
  }

  /** Opens a registered candidate's model (checked against its spec again); the caller releases it. */
  async open(name: string, options: OpenOptions = {}): Promise<OpenCandidate> {
    return openCandidate(await this.get(name), this.modelsDir, options);
  }

  /**
   * Opens the candidate's model (refusing a file that does not fit the spec, with the reason) and registers
   * it. A name already registered is refused unless `replace`. Resolves with the open candidate, which the
   * caller releases.
   */
  async add(spec: CandidateSpec, options: { replace?: boolean } = {}): Promise<OpenCandidate> {
    if (!options.replace && (await this.list()).some((c) => c.name === spec.name))
      throw new CandidateError(
        "EXISTS",
        `a candidate named ${spec.name} is registered already: remove it first, or choose another name`,
      );
    const open = await openCandidate(spec, this.modelsDir);
    try {
      await this.write({ name: spec.name, spec: JSON.stringify(spec), removed: 0 });
    } catch (err) {
      await open.session.release();
      throw err;
    }
    return open;
  }

  /** Unregisters a candidate (its stored answers stay); CandidateError("UNKNOWN") when there is none. */
  async remove(name: string): Promise<void> {
    if (!(await this.list()).some((c) => c.name === name)) throw unknown(name);
    await this.write({ name, spec: "", removed: 1 });
  }

  private async read(query: string, params: Record<string, unknown>) {
    try {
      const rs = await this.store.client.query({ query, query_params: params, format: "JSONEachRow" });
      return await rs.json<{ name: string; spec: string; removed: number }>();
    } catch (cause) {
      throw StoreError.from("QUERY", "cannot read the registered shadow candidates", cause);
    }
  }

  private async write(row: { name: string; spec: string; removed: number }): Promise<void> {
    try {
      await this.store.client.insert({
        table: `${this.store.database}.shadow_candidates`,
        values: [row],
        format: "JSONEachRow",
      });
    } catch (cause) {
      throw StoreError.from("INSERT", `cannot register shadow candidate ${row.name}`, cause);
    }
  }
}

function unknown(name: string): CandidateError {
  return new CandidateError("UNKNOWN", `no shadow candidate named ${name} is registered`);
}
