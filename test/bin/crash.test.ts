import { afterAll, describe, expect, it } from "vitest";
import { startServe, stop } from "../helpers/cli.js";
import { logsBody, logsResponse } from "../helpers/otlp.js";
import { tempDir } from "../helpers/service.js";

const dir = tempDir();
afterAll(() => dir.remove());

const ROUNDS = 4;
const RECORDS_PER_REQUEST = 50;
const SENDERS = 4;

/** Sends OTLP batches of uniquely-identified predictions until `until` resolves; returns the ids acknowledged. */
async function load(url: string, round: number, until: Promise<unknown>): Promise<string[]> {
  const acked: string[] = [];
  let stopped = false;
  void until.then(() => {
    stopped = true;
  });
  await Promise.all(
    Array.from({ length: SENDERS }, async (_, sender) => {
      for (let batch = 0; !stopped; batch++) {
        const ids = Array.from(
          { length: RECORDS_PER_REQUEST },
          (_, i) => `r${round}-s${sender}-b${batch}-${i}`,
        );
        const body = logsBody(
          ids.map((id) => ({
            eventName: "ml.prediction",
            attributes: { "ml.model.name": "crash", "ml.prediction.id": id, "ml.feature.x": Math.random() },
          })),
        );
        try {
          const res = await fetch(`${url}/v1/logs`, {
            method: "POST",
            headers: { "content-type": "application/x-protobuf" },
            body,
          });
          const answer = new Uint8Array(await res.arrayBuffer());
          if (res.status === 200 && !logsResponse(answer).partialSuccess?.rejectedLogRecords)
            acked.push(...ids);
        } catch {
          // The process was killed mid-request: not acknowledged, so not owed.
        }
      }
    }),
  );
  return acked;
}

/**
 * Stored rows per prediction id, once the restarted service's spool is empty: everything the kills left
 * acknowledged but not stored has then been replayed (or set aside, which the test counts as lost).
 */
async function settledCounts(url: string): Promise<Map<string, string>> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const spooled = Number(/^modelwatch_spool_bytes(?:\{[^}]*\})? (\S+)$/m.exec(metrics)?.[1] ?? Number.NaN);
    if (spooled === 0) break;
    if (Date.now() > deadline) throw new Error(`the spool still holds ${spooled} bytes after 2 minutes`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const res = await fetch(`${url}/sql?fresh=1`, {
    method: "POST",
    body: "SELECT prediction_id, count() FROM predictions GROUP BY prediction_id ORDER BY prediction_id",
  });
  return new Map(
    (await res.text())
      .trim()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.split("\t") as [string, string]),
  );
}

describe("a service killed with SIGKILL under load", () => {
  it("has every acknowledged record in the store exactly once after restarting", {
    timeout: 180_000,
  }, async () => {
    const env = { MODELWATCH_DATA_DIR: dir.path };
    // Inserts start often and the spool is rarely empty, so kills land between append, insert and delete.
    const args = ["--batch-flush-interval-ms", "150", "--batch-max-records", "400"];
    const acked: string[] = [];
    const killedAfterMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const { child, url } = await startServe(args, env);
      const delay = 300 + Math.floor(Math.random() * 1200);
      killedAfterMs.push(delay);
      const exited = new Promise((resolve) => child.once("exit", resolve));
      const killed = new Promise((resolve) => setTimeout(resolve, delay)).then(() => child.kill("SIGKILL"));
      acked.push(...(await load(url, round, killed)));
      await exited;
    }

    const { child, url, log } = await startServe(args, env);
    try {
      const stored = await settledCounts(url);
      const context = `kills after ${killedAfterMs.join(", ")} ms; ${acked.length} acknowledged; the service said:\n${log()}`;
      expect(acked.length, context).toBeGreaterThan(ROUNDS * RECORDS_PER_REQUEST);
      const missing = acked.filter((id) => !stored.has(id));
      expect(missing.slice(0, 5), context).toEqual([]);
      const repeated = [...stored].filter(([, n]) => n !== "1");
      expect(repeated.slice(0, 5), context).toEqual([]);
    } finally {
      await stop(child);
    }
  });
});
