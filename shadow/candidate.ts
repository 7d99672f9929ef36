import { CandidateError } from "./errors.js";

/** Why a prediction was not run by a candidate: a feature it needs missing, or given as text. */
export type SkipReason = "missing_feature" | "wrong_type";

/** What a candidate's output means. */
export type CandidateOutput =
  /** Per-class probabilities, [batch, classes], in the order of `classes`. */
  | { kind: "probabilities"; tensor?: string; classes: string[] }
  /** A value per row (regression), [batch] or [batch, 1]. */
  | { kind: "value"; tensor?: string };

/** A candidate model, as registered: which production model it shadows and how to feed and read it. */
export interface CandidateSpec {
  /** A plain name: letters, digits, `_`, `-`, `.`. */
  name: string;
  /** The production model (`ml.model.name`) whose traffic it runs on. */
  shadows: string;
  /** The ONNX file, relative to the models directory. */
  file: string;
  /**
   * The features, in the order of the input's columns, and the input tensor taking them as [batch,
   * features] (default: the graph's only input). A graph with one input per feature, named after it, needs
   * neither: its input names are the features.
   */
  input: { tensor?: string; features?: string[] };
  output: CandidateOutput;
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Checks a spec as given (a config file's or the CLI's JSON); throws CandidateError("SPEC") naming the
 * field that is wrong.
 */
export function parseCandidateSpec(raw: unknown): CandidateSpec {
  const o = object(raw, "candidate");
  const name = text(o.name, "name");
  if (!NAME.test(name)) fail("name", `${JSON.stringify(name)} is not a plain name (letters, digits, _ - .)`);
  const input = o.input === undefined ? {} : object(o.input, "input");
  const features = input.features === undefined ? undefined : list(input.features, "input.features");
  if (features?.length === 0) fail("input.features", "lists no features");
  if (features && new Set(features).size !== features.length) fail("input.features", "names a feature twice");
  const output = object(o.output, "output");
  const kind = text(output.kind, "output.kind");
  let parsed: CandidateOutput;
  if (kind === "probabilities") {
    const classes = list(output.classes, "output.classes");
    if (classes.length < 2) fail("output.classes", "needs at least two classes");
    parsed = { kind, classes, ...optionalTensor(output.tensor, "output.tensor") };
  } else if (kind === "value") {
    parsed = { kind, ...optionalTensor(output.tensor, "output.tensor") };
  } else {
    fail("output.kind", `${JSON.stringify(kind)} is neither "probabilities" nor "value"`);
  }
  return {
    name,
    shadows: text(o.shadows, "shadows"),
    file: text(o.file, "file"),
    input: { ...(features ? { features } : {}), ...optionalTensor(input.tensor, "input.tensor") },
    output: parsed,
  };
}

function object(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(field, "must be an object");
  return v as Record<string, unknown>;
}

function text(v: unknown, field: string): string {
  if (typeof v !== "string" || v === "") fail(field, "must be a non-empty string");
  return v as string;
}

function list(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string" || x === ""))
    fail(field, "must be a list of non-empty strings");
  return v as string[];
}

function optionalTensor(v: unknown, field: string): { tensor?: string } {
  return v === undefined ? {} : { tensor: text(v, field) };
}

function fail(field: string, problem: string): never {
  throw new CandidateError("SPEC", `candidate field ${field} ${problem}`);
}
