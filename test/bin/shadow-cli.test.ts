import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { denseSoftmaxModel } from "../../bench/onnx-models.js";
import { runCli, startServe, stop } from "../helpers/cli.js";
import { sendLines } from "../helpers/fixtures.js";
import { tempDir } from "../helpers/service.js";

const dir = tempDir();
afterAll(() => dir.remove());
const models = join(dir.path, "models");
mkdirSync(models);
writeFileSync(join(models, "lr.onnx"), denseSoftmaxModel([{ weights: [[1, -1]], bias: [0, 0] }]));
writeFileSync(join(models, "broken.onnx"), "no model here");

const spec = (name: string, file = "lr.onnx") => ({
  name,
  shadows: "m",
  file,
  input: { features: ["x"] },
  output: { kind: "probabilities", classes: ["a", "b"] },
});
const specFile = (name: string, body: unknown) => {
  const path = join(dir.path, `${name}.json`);
  writeFileSync(path, JSON.stringify(body));
  return path;
};
const env = { MODELWATCH_DATA_DIR: join(dir.path, "data"), MODELWATCH_MODELS_DIR: models };
const START = Date.now() - 600_000;

describe("modelwatch shadow", () => {
  it("registers, lists, replays and removes candidates through the service or the store", {
    timeout: 120_000,
  }, async () => {
    // A candidate from the config file is registered and running once serve is up.
    const config = specFile("config", { candidates: [spec("from-config")] });
    const serve = await startServe(["--shadow-config", config], env);
    const port = ["--http-port", new URL(serve.url).port];
    try {
      const added = await runCli(["shadow", "add", specFile("cli", spec("from-cli")), ...port], env);
      expect(added.code, added.stderr).toBe(0);
      expect(added.stdout).toMatch(/registered from-cli \(shadows m\); running on live traffic/);
      const broken = await runCli(
        ["shadow", "add", specFile("broken", spec("bad", "broken.onnx")), ...port],
        env,
      );
      expect(broken.code).toBe(1);
      expect(broken.stderr).toMatch(/refused \(400\): broken.onnx is not a model onnxruntime can run/);

      await sendLines(
        serve.url,
        Array.from({ length: 500 }, (_, i) =>
          JSON.stringify({
            event: "ml.prediction",
            time: START + i,
            "ml.model.name": "m",
            "ml.prediction.id": `p${i}`,
            "ml.feature.x": i % 5,
          }),
        ),
      );
      const listed = await runCli(["shadow", "list", ...port], env);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toMatch(/^from-cli\s+m\s+lr.onnx\s+1\s+classes a,b\s+running$/m);
      expect(listed.stdout).toMatch(/^from-config\s+m\s+lr.onnx\s+1\s+classes a,b\s+running$/m);
      expect(listed.stdout).toMatch(/live since start: 500 predictions mirrored/);
    } finally {
      expect(await stop(serve.child)).toBe(0);
    }

    // With no service, the command opens the store itself.
    const answered = async (candidate: string) => {
      const r = await runCli(
        [
          "sql",
          `SELECT count() FROM shadow_predictions FINAL WHERE candidate = '${candidate}'`,
          "--http-port",
          "1",
        ],
        env,
      );
      return Number(r.stdout.trim().split("\n").at(-1)); // under the column's name
    };
    expect(await answered("from-cli")).toBe(500); // the live answers were stored before the stop
    const direct = await runCli(["shadow", "add", specFile("late", spec("late")), "--http-port", "1"], env);
    expect(direct.code, direct.stderr).toBe(0);
    expect(direct.stdout).toMatch(/it runs on live traffic once serve starts/);
    const replay = await runCli(
      [
        "shadow",
        "replay",
        "--candidate",
        "late",
        "--from",
        new Date(START).toISOString(),
        "--to",
        new Date(START + 250).toISOString(),
        "--http-port",
        "1",
      ],
      env,
    );
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/replayed late over .*: 250 predictions answered/);
    expect(await answered("late")).toBe(250);

    const removed = await runCli(["shadow", "remove", "from-cli", "--http-port", "1"], env);
    expect(removed.code, removed.stderr).toBe(0);
    const after = await runCli(["shadow", "list", "--http-port", "1"], env);
    expect(after.stdout).not.toMatch(/from-cli/);
    expect(after.stdout).toMatch(/^late\s/m);
    const unknown = await runCli(["shadow", "remove", "nobody", "--http-port", "1"], env);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([
      1,
      "modelwatch: no shadow candidate named nobody is registered",
    ]);
  });

  it("says what is missing or wrong in a command, a spec file or a config file", {
    timeout: 60_000,
  }, async () => {
    const cases: Array<[string[], RegExp]> = [
      [["shadow"], /say list, add, remove or replay/],
      [["shadow", "add"], /needs a spec file/],
      [["shadow", "replay", "--candidate", "x"], /needs --candidate NAME --from TIME --to TIME/],
      [
        ["shadow", "add", specFile("nofeatures", { ...spec("x"), input: { features: "x" } })],
        /input.features must be a list/,
      ],
      [
        ["serve", "--shadow-config", specFile("badconfig", { candidates: [{ name: "x" }] })],
        /candidates\[0\]: candidate field output must be an object/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await runCli([...args, "--http-port", "1"], env);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr).toMatch(message);
    }
  });
});
