import {
  answerOf,
  columnName,
  type InferenceRecord,
  type ModelMapping,
  PayloadError,
  scalar,
} from "./payload.js";

/** One tensor of the Open Inference Protocol (KServe v2, Triton): `data` flat or nested, row-major. */
interface Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}

/** Whether a body is an Open Inference Protocol request or response (typed tensors). */
export function isV2(body: unknown): boolean {
  const tensors =
    (body as { inputs?: unknown; outputs?: unknown } | null)?.inputs ??
    (body as { outputs?: unknown } | null)?.outputs;
  return (
    Array.isArray(tensors) &&
    tensors.length > 0 &&
    tensors.every((t) => typeof t === "object" && t !== null && "datatype" in t)
  );
}

/** A v2 request's rows: the first dimension of its input tensors, their other values as features. */
export function v2Features(body: unknown, mapping: ModelMapping): Array<InferenceRecord["features"]> {
  const inputs = tensors(body, "inputs");
  const rows = inputs[0]?.shape[0] ?? 0;
  const out = Array.from({ length: rows }, () => ({}) as InferenceRecord["features"]);
  let column = 0;
  for (const t of inputs) {
    const width = rowWidth(t, rows);
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < width; j++) {
        const v = scalar(t.data[r * width + j]);
        const name =
          width === 1 ? (mapping.features?.[column] ?? t.name) : columnName(mapping, column + j, t.name);
        if (v !== undefined) (out[r] as InferenceRecord["features"])[name] = v;
      }
    column += width;
  }
  return out;
}

/** A v2 response's rows: the output named by the mapping (or the first), read as classes, probabilities or values. */
export function v2Answers(
  body: unknown,
  mapping: ModelMapping,
): { answers: Array<Omit<InferenceRecord, "features">>; version?: string } {
  const outputs = tensors(body, "outputs");
  const t = mapping.output === undefined ? outputs[0] : outputs.find((o) => o.name === mapping.output);
  if (!t) throw new PayloadError(`the response has no output ${mapping.output}`);
  const rows = t.shape[0] ?? 0;
  const width = rowWidth(t, rows);
  const answers = Array.from({ length: rows }, (_, r) => {
    const row = t.data.slice(r * width, (r + 1) * width);
    return answerOf(width === 1 ? row[0] : row, mapping);
  });
  const version = (body as { model_version?: unknown }).model_version;
  return { answers, version: typeof version === "string" ? version : undefined };
}

function tensors(body: unknown, field: "inputs" | "outputs"): Tensor[] {
  const list = (body as Record<string, unknown> | null)?.[field];
  if (!Array.isArray(list))
    throw new PayloadError(`an Open Inference Protocol body has "${field}": a list of tensors`);
  return list.map((t, i) => {
    const o = t as Partial<Tensor> | null;
    if (!o || typeof o.name !== "string" || !Array.isArray(o.shape) || !Array.isArray(o.data))
      throw new PayloadError(`${field}[${i}] should be a tensor {name, shape, datatype, data}`);
    return {
      name: o.name,
      shape: o.shape.map(Number),
      datatype: String(o.datatype),
      data: o.data.flat(Number.POSITIVE_INFINITY),
    };
  });
}

/** Values per row: the product of the dimensions after the first, checked against the data. */
function rowWidth(t: Tensor, rows: number): number {
  const width = t.shape.slice(1).reduce((a, b) => a * b, 1);
  if (t.shape[0] !== rows || t.data.length !== rows * width)
    throw new PayloadError(
      `tensor ${t.name}: shape [${t.shape.join(", ")}] does not fit its ${t.data.length} values or the ${rows} rows`,
    );
  return width;
}
