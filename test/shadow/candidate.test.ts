import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Tensor } from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { columnsSoftmaxModel, denseSoftmaxModel, forward } from "../../bench/onnx-models.js";
import {
  type CandidateSpec,
  inferBatch,
  openCandidate,
  parseCandidateSpec,
  resolveModelFile,
} from "../../shadow/index.js";
import { LOGISTIC as logistic } from "../helpers/models.js";
import { tempDir } from "../helpers/service.js";

const root = tempDir("modelwatch-models-");
const models = join(root.path, "models");
const elsewhere = join(root.path, "elsewhere");

const spec = (over: Partial<CandidateSpec> = {}): CandidateSpec => ({
  name: "fraud-v2",
  shadows: "fraud",
  file: "logistic.onnx",
  input: { features: ["amount", "age", "score"] },
  output: { kind: "probabilities", classes: ["no", "yes"] },
  ...over,
});

beforeAll(() => {
  mkdirSync(join(models, "nested"), { recursive: true });
  mkdirSync(elsewhere, { recursive: true });
  writeFileSync(join(models, "logistic.onnx"), denseSoftmaxModel(logistic));
  writeFileSync(join(models, "nested", "same.onnx"), denseSoftmaxModel(logistic));
  writeFileSync(join(models, "broken.onnx"), Buffer.from("not a model at all"));
  writeFileSync(join(elsewhere, "secret.onnx"), denseSoftmaxModel(logistic));
  symlinkSync(join(elsewhere, "secret.onnx"), join(models, "link-out.onnx"));
  symlinkSync(join(models, "logistic.onnx"), join(models, "link-in.onnx"));
});
afterAll(() => root.remove());

describe("model files", () => {
  it("are read only from inside the models directory", () => {
    const real = realpathSync(models); // the answer is the real path (the temp dir may be behind a link)
    expect(resolveModelFile(models, "logistic.onnx")).toBe(join(real, "logistic.onnx"));
    expect(resolveModelFile(models, "nested/../nested/same.onnx")).toBe(join(real, "nested", "same.onnx"));
    expect(resolveModelFile(models, "link-in.onnx")).toBe(join(real, "logistic.onnx"));
    for (const file of [
      "../elsewhere/secret.onnx",
      join(elsewhere, "secret.onnx"),
      "link-out.onnx",
      "..",
      ".",
    ]) {
      expect(() => resolveModelFile(models, file), file).toThrow(/outside the models directory/);
    }
    expect(() => resolveModelFile(models, "missing.onnx")).toThrow(/does not exist/);
    expect(() => resolveModelFile(models, "nested")).toThrow(/not a file/);
  });
});

describe("a candidate", () => {
  it("opens when its model fits the spec, and computes what its weights say", async () => {
    const candidate = await openCandidate(spec(), models);
    try {
      expect([candidate.input, candidate.outputName]).toEqual([
        { kind: "matrix", name: "features", type: "float32" },
        "probabilities",
      ]);
      const rows = [
        [1, 2, 3],
        [0.5, -1, 2],
      ];
      const out = await candidate.session.run({
        features: new Tensor("float32", Float32Array.from(rows.flat()), [2, 3]),
      });
      const got = Array.from(out.probabilities?.data as Float32Array);
      const expected = rows.flatMap((r) => forward(logistic, r));
      expect(got).toHaveLength(expected.length);
      for (const [i, p] of got.entries()) expect(p).toBeCloseTo(expected[i] as number, 6);
    } finally {
      await candidate.session.release();
    }
  });

  it("is refused with what was expected and what the model has", async () => {
    await expect(openCandidate(spec({ file: "broken.onnx" }), models)).rejects.toThrow(
      /broken\.onnx is not a model onnxruntime can run/,
    );
    await expect(openCandidate(spec({ input: { features: ["amount", "age"] } }), models)).rejects.toThrow(
      /features should be float32 \[batch, 2\]: 2 features \(amount, age\); found float32 \[batch, 3\]/,
    );
    await expect(
      openCandidate(spec({ output: { kind: "probabilities", classes: ["a", "b", "c"] } }), models),
    ).rejects.toThrow(/probabilities should be float32 \[batch, 3\].*found float32 \[batch, 2\]/);
    await expect(openCandidate(spec({ output: { kind: "value" } }), models)).rejects.toThrow(
      /should be float32 \[batch\] or \[batch, 1\] values, found float32 \[batch, 2\]/,
    );
    await expect(
      openCandidate(spec({ input: { tensor: "x", features: ["amount", "age", "score"] } }), models),
    ).rejects.toThrow(/no input x; its inputs: features/);
    await expect(openCandidate(spec({ file: "../elsewhere/secret.onnx" }), models)).rejects.toMatchObject({
      code: "PATH",
    });
    await expect(openCandidate(spec({ input: {} }), models)).rejects.toThrow(
      /name the features \(input.features\): the model's input features takes float32 \[batch, 3\]/,
    );
  });

  it("takes its features from a graph with one input per feature, named after them", async () => {
    // Inputs in the graph's order (the weights' rows), float64 as sklearn-onnx writes doubles.
    const columns = ["score", "amount", "age"];
    writeFileSync(join(models, "columns.onnx"), columnsSoftmaxModel(logistic, columns, "float64"));
    const noFeatures = spec({ file: "columns.onnx", input: {} });
    const candidate = await openCandidate(noFeatures, models);
    try {
      expect(candidate.features).toEqual(columns);
      expect(candidate.input).toMatchObject({ kind: "columns" });
      const rows = [
        [1, 2, 3],
        [0.5, -1, 2],
        [-2, 0.25, 1.5],
      ];
      const { answers } = await inferBatch(candidate, Float32Array.from(rows.flat()), rows.length);
      rows.forEach((x, r) => {
        const p = forward(logistic, x);
        expect(answers.scores[r * 2]).toBeCloseTo(p[0] as number, 6);
        expect(answers.scores[r * 2 + 1]).toBeCloseTo(p[1] as number, 6);
        expect(answers.best[r]).toBe((p[1] as number) > (p[0] as number) ? 1 : 0);
      });
    } finally {
      await candidate.session.release();
    }
    // Features named in another order are fed to the inputs of those names.
    const reordered = await openCandidate(
      spec({ file: "columns.onnx", input: { features: ["age", "score", "amount"] } }),
      models,
    );
    try {
      expect(reordered.features).toEqual(["age", "score", "amount"]);
      const x = [1, 2, 3]; // age, score, amount
      const { answers } = await inferBatch(reordered, Float32Array.from(x), 1);
      const p = forward(logistic, [2, 3, 1]); // score, amount, age: the weights' order
      expect(answers.scores[0]).toBeCloseTo(p[0] as number, 6);
    } finally {
      await reordered.session.release();
    }
    await expect(
      openCandidate(spec({ file: "columns.onnx", input: { features: ["amount", "age", "tenure"] } }), models),
    ).rejects.toThrow(
      /the model takes one input per feature \(score, amount, age\); input.features names amount, age, tenure/,
    );
  });
});

describe("a candidate spec", () => {
  it("is checked field by field", () => {
    const raw = {
      name: "fraud-v2",
      shadows: "fraud",
      file: "logistic.onnx",
      input: { features: ["amount"] },
      output: { kind: "probabilities", classes: ["no", "yes"] },
    };
    expect(parseCandidateSpec(raw)).toEqual(raw);
    const { input: _, ...noInput } = raw;
    expect(parseCandidateSpec(noInput)).toEqual({ ...noInput, input: {} });
    const wrong: Array<[unknown, RegExp]> = [
      [null, /candidate must be an object/],
      [{ ...raw, name: "a b" }, /field name "a b" is not a plain name/],
      [{ ...raw, shadows: "" }, /field shadows must be a non-empty string/],
      [{ ...raw, input: { features: [] } }, /input.features lists no features/],
      [{ ...raw, input: { features: ["a", "a"] } }, /input.features names a feature twice/],
      [{ ...raw, output: { kind: "probabilities", classes: ["one"] } }, /output.classes needs at least two/],
      [{ ...raw, output: { kind: "label" } }, /output.kind "label" is neither/],
    ];
    for (const [value, message] of wrong) expect(() => parseCandidateSpec(value)).toThrow(message);
  });
});
