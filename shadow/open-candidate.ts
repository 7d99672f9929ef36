import { readFile } from "node:fs/promises";
import { InferenceSession } from "onnxruntime-node";
import type { CandidateSpec } from "./candidate.js";
import { CandidateError } from "./errors.js";
import { resolveModelFile } from "./model-file.js";

/** The element types a candidate's input may take; features are converted to it. */
export type InputType = "float32" | "float64";

/**
 * How features reach the graph: one [batch, features] tensor, or one [batch, 1] (or [batch]) tensor per
 * feature, named after it, as converters such as sklearn-onnx write a model whose inputs are columns.
 */
export type InputLayout =
  | { kind: "matrix"; name: string; type: InputType }
  | { kind: "columns"; tensors: Array<{ name: string; type: InputType; dims: 1 | 2 }> };

/** A candidate whose model is loaded and known to fit its spec. */
export interface OpenCandidate {
  spec: CandidateSpec;
  session: InferenceSession;
  /** The features it runs on, in input order: the spec's, or the graph's input names. */
  features: string[];
  input: InputLayout;
  /** The graph's output the spec maps to. */
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
    const { features, input } = inputOf(session.inputMetadata, spec);
    const output = pick(session.outputMetadata, spec.output.tensor, "output");
    if (spec.output.kind === "probabilities") {
      const classes = spec.output.classes.length;
      expectTensor(output, FLOATS, [undefined, classes], `probabilities of ${classes} classes`);
    } else if (!isColumn(output)) {
      throw mismatch(
        `output ${output.name} should be float32 [batch] or [batch, 1] values, found ${describe(output)}`,
      );
    }
    return { spec, session, features, input, outputName: output.name };
  } catch (err) {
    await session.release();
    throw err;
  }
}

const FLOATS: readonly string[] = ["float32", "float64"];

/**
 * The features and how they reach the graph. A graph with one input per feature is fed column by column,
 * its input names being the features when the spec names none (and having to be the spec's otherwise); a
 * graph with one input takes them all as [batch, features], in the spec's order.
 */
function inputOf(
  values: readonly Metadata[],
  spec: CandidateSpec,
): { features: string[]; input: InputLayout } {
  const named = spec.input.features;
  const only = values.length === 1 ? (values[0] as Metadata) : undefined;
  const matrix =
    spec.input.tensor !== undefined || (only !== undefined && (named !== undefined || !isColumn(only)));
  if (matrix) {
    const input = pick(values, spec.input.tensor, "input");
    if (named === undefined)
      throw mismatch(
        `name the features (input.features): the model's input ${input.name} takes ${describe(input)}, one column per feature, and does not say which`,
      );
    expectTensor(input, FLOATS, [undefined, named.length], `${named.length} features (${named.join(", ")})`);
    const type = (input as { type: string }).type as InputType; // a tensor: expectTensor checked it
    return { features: named, input: { kind: "matrix", name: input.name, type } };
  }
  const names = values.map((v) => v.name);
  if (named !== undefined && (named.length !== names.length || named.some((f) => !names.includes(f))))
    throw mismatch(
      `the model takes one input per feature (${names.join(", ")}); input.features names ${named.join(", ")}: name the same features, or none to use the model's`,
    );
  const tensors = values.map((v) => {
    if (!isColumn(v))
      throw mismatch(
        `input ${v.name} should be float32 [batch, 1] or [batch]: one feature; found ${describe(v)}`,
      );
    return { name: v.name, type: v.type as InputType, dims: v.shape.length as 1 | 2 };
  });
  // The columns go in the order of the features named (or of the graph's inputs).
  const order = named ?? names;
  tensors.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  return { features: order, input: { kind: "columns", tensors } };
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

/**
 * Rank and fixed sizes as expected, float32 or float64; `undefined` in `dims` is the batch, which may be
 * anything. The message names float32, which nearly every exporter writes.
 */
function expectTensor(
  value: Metadata,
  types: readonly string[],
  dims: Array<number | undefined>,
  meaning: string,
): void {
  const ok =
    value.isTensor &&
    types.includes(value.type) &&
    value.shape.length === dims.length &&
    dims.every((d, i) => d === undefined || typeof value.shape[i] !== "number" || value.shape[i] === d);
  if (!ok) {
    const expected = `${types[0]} [${dims.map((d) => d ?? "batch").join(", ")}]`;
    throw mismatch(`${value.name} should be ${expected}: ${meaning}; found ${describe(value)}`);
  }
}

/** A float tensor of one number per row: [batch] or [batch, 1]. */
function isColumn(
  value: Metadata,
): value is Metadata & { isTensor: true; type: string; shape: ReadonlyArray<number | string> } {
  if (!value.isTensor || !FLOATS.includes(value.type)) return false;
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
