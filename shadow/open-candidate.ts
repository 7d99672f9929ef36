import { readFile } from "node:fs/promises";
import { InferenceSession } from "onnxruntime-node";
import type { CandidateSpec } from "./candidate.js";
import { CandidateError } from "./errors.js";
import { resolveModelFile } from "./model-file.js";

/** A candidate whose model is loaded and known to fit its spec. */
export interface OpenCandidate {
  spec: CandidateSpec;
  session: InferenceSession;
  /** The graph's tensors the spec maps to. */
  inputName: string;
  outputName: string;
}

export interface OpenOptions {
  /**
   * Threads one inference may use (default: onnxruntime's, one per core). The live mirror runs with 1, so
   * shadow inference never takes more than its worker's share of the cores ingest needs.
   */
  threads?: number;
}

type Metadata = InferenceSession.ValueMetadata;

/**
 * Loads a candidate's model from the models directory and checks it against the spec: the input a float32
 * [batch, features] tensor with one column per feature named, the output probabilities over the classes
 * named (or a value per row). Throws CandidateError("PATH" | "MODEL" | "MISMATCH") saying what was expected
 * and what the model has, so a broken or incompatible file is refused at registration, not at inference.
 */
export async function openCandidate(
  spec: CandidateSpec,
  modelsDir: string,
  options: OpenOptions = {},
): Promise<OpenCandidate> {
  const path = resolveModelFile(modelsDir, spec.file);
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(
      await readFile(path),
      options.threads === undefined ? {} : { intraOpNumThreads: options.threads, interOpNumThreads: 1 },
    );
  } catch (cause) {
    throw new CandidateError("MODEL", `${spec.file} is not a model onnxruntime can run: ${reason(cause)}`, {
      cause,
    });
  }
  try {
    const input = pick(session.inputMetadata, spec.input.tensor, "input");
    const features = spec.input.features.length;
    expectTensor(
      input,
      "float32",
      [undefined, features],
      `${features} features (${spec.input.features.join(", ")})`,
    );
    const output = pick(session.outputMetadata, spec.output.tensor, "output");
    if (spec.output.kind === "probabilities") {
      const classes = spec.output.classes.length;
      expectTensor(output, "float32", [undefined, classes], `probabilities of ${classes} classes`);
    } else if (!fitsValue(output)) {
      throw mismatch(
        `output ${output.name} should be float32 [batch] or [batch, 1] values, found ${describe(output)}`,
      );
    }
    return { spec, session, inputName: input.name, outputName: output.name };
  } catch (err) {
    await session.release();
    throw err;
  }
}

/** The tensor named, or the graph's only one when no name is given. */
function pick(values: readonly Metadata[], name: string | undefined, side: "input" | "output"): Metadata {
  const names = values.map((v) => v.name).join(", ");
  if (name === undefined) {
    if (values.length !== 1)
      throw mismatch(
        `the model has ${values.length} ${side}s (${names}): name the one to use (${side}.tensor)`,
      );
    return values[0] as Metadata;
  }
  const found = values.find((v) => v.name === name);
  if (!found) throw mismatch(`the model has no ${side} ${name}; its ${side}s: ${names}`);
  return found;
}

/** Rank and fixed sizes as expected; `undefined` in `dims` is the batch, which may be anything. */
function expectTensor(value: Metadata, type: string, dims: Array<number | undefined>, meaning: string): void {
  const ok =
    value.isTensor &&
    value.type === type &&
    value.shape.length === dims.length &&
    dims.every((d, i) => d === undefined || typeof value.shape[i] !== "number" || value.shape[i] === d);
  if (!ok) {
    const expected = `${type} [${dims.map((d) => d ?? "batch").join(", ")}]`;
    throw mismatch(`${value.name} should be ${expected}: ${meaning}; found ${describe(value)}`);
  }
}

function fitsValue(value: Metadata): boolean {
  if (!value.isTensor || value.type !== "float32") return false;
  return (
    value.shape.length === 1 ||
    (value.shape.length === 2 && [1, undefined].includes(numberOrUndefined(value.shape[1])))
  );
}

function numberOrUndefined(d: number | string | undefined): number | undefined {
  return typeof d === "number" ? d : undefined;
}

function describe(value: Metadata): string {
  return value.isTensor ? `${value.type} [${value.shape.join(", ")}]` : "a value that is not a tensor";
}

function mismatch(message: string): CandidateError {
  return new CandidateError("MISMATCH", message);
}

function reason(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
}
