import { afterAll, describe, expect, it } from "vitest";
import { runCli, startServe, stop } from "../helpers/cli.js";
import { tempDir } from "../helpers/service.js";

const dir = tempDir();
afterAll(() => dir.remove());

describe("modelwatch --help", () => {
  it("lists the commands and every setting with its environment variable", async () => {
    const { code, stdout } = await runCli(["--help"]);
    expect(code).toBe(0);
    for (const text of [
      "modelwatch serve",
      "modelwatch sql",
      "CLICKHOUSE_URL",
      "MODELWATCH_DATA_DIR",
      "MODELWATCH_HTTP_PORT",
    ]) {
      expect(stdout).toContain(text);
    }
  });
});

describe("configuration is checked once, at start", () => {
  it("lists every bad setting by name and bound, and exits 1", async () => {
    const { code, stderr } = await runCli(
      ["serve", "--http-port", "99999", "--database", "bad-name", "--reference", "last-week"],
      {
        MODELWATCH_RETENTION_DAYS: "0",
        CLICKHOUSE_URL: "ftp://nowhere",
        MODELWATCH_THRESHOLDS_FILE: "/nonexistent/thresholds.json",
      },
    );
    expect(code).toBe(1);
    expect(stderr).toContain("--http-port / MODELWATCH_HTTP_PORT: 99999 is outside 0 to 65535");
    expect(stderr).toContain("--retention-days / MODELWATCH_RETENTION_DAYS: 0 is outside 1 to 3650");
    expect(stderr).toContain('--database / CLICKHOUSE_DATABASE: "bad-name" must be letters, digits and _');
    expect(stderr).toContain('--clickhouse-url / CLICKHOUSE_URL: "ftp://nowhere" is not an http(s) URL');
    expect(stderr).toContain(
      '--reference / MODELWATCH_REFERENCE: "last-week" is not first-day, previous or FROM/TO',
    );
    expect(stderr).toContain(
      "--thresholds-file / MODELWATCH_THRESHOLDS_FILE: cannot read /nonexistent/thresholds.json",
    );
  });

  it("names an unknown flag", async () => {
    const { code, stderr } = await runCli(["serve", "--no-such-flag"]);
    expect(code).toBe(2);
    expect(stderr).toContain("no-such-flag");
  });
});

describe("serve, sql, restart", () => {
  it("keeps the data across a restart, and answers sql through the service or from the store", async () => {
    const env = { MODELWATCH_DATA_DIR: dir.path };
    const first = await startServe([], env);
    const port = new URL(first.url).port;
    const events = ["a", "b", "a"]
      .map((cls, i) =>
        JSON.stringify({
          event: "ml.prediction",
          "ml.model.name": "cli-model",
          "ml.prediction.id": `c${i}`,
          "ml.prediction.class": cls,
        }),
      )
      .join("\n");
    const res = await fetch(`${first.url}/v1/events`, { method: "POST", body: events });
    expect(res.status).toBe(200);

    // With the service running, sql goes through it (the service owns the embedded store).
    const viaService = await runCli(
      [
        "sql",
        "--http-port",
        port,
        "--format",
        "csv",
        "SELECT predicted_class, count() AS n FROM predictions GROUP BY 1 ORDER BY 1",
      ],
      env,
    );
    expect(viaService).toMatchObject({ code: 0, stdout: '"predicted_class","n"\n"a",2\n"b",1\n' });
    const json = await runCli(
      [
        "sql",
        "--http-port",
        port,
        "--format",
        "json",
        "--param",
        "m=cli-model",
        "SELECT prediction_id FROM predictions WHERE model = {m:String} ORDER BY 1",
      ],
      env,
    );
    expect(
      json.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    ).toEqual([{ prediction_id: "c0" }, { prediction_id: "c1" }, { prediction_id: "c2" }]);
    // Read-only is the engine's: a write is refused, and the message says why.
    const write = await runCli(
      ["sql", "--http-port", port, "INSERT INTO predictions (model) VALUES ('x')"],
      env,
    );
    expect(write.code).toBe(1);
    expect(write.stderr).toMatch(/readonly/i);
    const settings = await runCli(["sql", "--http-port", port, "SET readonly = 0"], env);
    expect(settings.code).toBe(1);

    expect(await stop(first.child)).toBe(0);

    // With no service, sql opens the store itself; output defaults to TSV when stdout is not a terminal.
    const direct = await runCli(
      ["sql", "--http-port", port, "SELECT count() FROM predictions WHERE model = 'cli-model'"],
      env,
    );
    expect(direct).toMatchObject({ code: 0, stdout: "count()\n3\n" });
    const bad = await runCli(["sql", "--http-port", port, "SELECT nope FROM predictions"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/nope/);

    const second = await startServe([], env);
    const rows = await fetch(
      `${second.url}/sql?query=${encodeURIComponent("SELECT count() FROM predictions")}`,
    );
    expect((await rows.text()).trim()).toBe("3");
    expect(await stop(second.child)).toBe(0);
  });
});
