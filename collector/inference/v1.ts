import {
  answerOf,
  columnName,
  type InferenceRecord,
  type ModelMapping,
  PayloadError,
  scalar,
} from "./payload.js";

/**
 * TensorFlow Serving's REST API and KServe v1: a request's rows (`instances`, row form, objects or arrays;
 * `inputs`, columnar or row form; `examples` for :classify and :regress) as features.
 */
export function v1Features(body: unknown, mapping: ModelMapping): Array<InferenceRecord["features"]> {
  const o = object(body, "request");
  if (Array.isArray(o.instances)) return o.instances.map((x) => rowFeatures(x, mapping));
  if (Array.isArray(o.examples)) return o.examples.map((x) => rowFeatures(x, mapping));
  if (Array.isArray(o.inputs)) return o.inputs.map((x) => rowFeatures(x, mapping));
  if (typeof o.inputs === "object" && o.inputs !== null) {
    // Columnar: each named input holds one value (or one row) per instance.
    const columns = Object.entries(o.inputs as Record<string, unknown>);
    const n = Math.max(0, ...columns.map(([, v]) => (Array.isArray(v) ? v.length : 0)));
    return Array.from({ length: n }, (_, r) => {
      const features: InferenceRecord["features"] = {};
      for (const [name, values] of columns) {
        const v = Array.isArray(values) ? values[r] : undefined;
        if (Array.isArray(v)) putEach(features, v, (j) => `${name}_${j}`);
        else put(features, name, v);
      }
      return features;
    });
  }
  throw new PayloadError('a v1 request has "instances", "inputs" or "examples"');
}

/** A v1 answer's rows: `predictions`, `outputs` (row form, or columnar by output name) or :classify/:regress `results`. */
export function v1Answers(body: unknown, mapping: ModelMapping): Array<Omit<InferenceRecord, "features">> {
  const o = object(body, "response");
  if (Array.isArray(o.predictions)) return o.predictions.map((p) => answerOf(p, mapping));
  if (Array.isArray(o.results)) return o.results.map((r) => classifyResult(r, mapping));
  if (Array.isArray(o.outputs)) return o.outputs.map((p) => answerOf(p, mapping));
  if (typeof o.outputs === "object" && o.outputs !== null) {
    const outputs = o.outputs as Record<string, unknown>;
    const name = mapping.output ?? Object.keys(outputs)[0];
    const column = name === undefined ? undefined : outputs[name];
    if (!Array.isArray(column)) throw new PayloadError(`the response has no output ${name ?? ""} to read`);
    return column.map((p) => answerOf(p, mapping));
  }
  throw new PayloadError('a v1 response has "predictions", "outputs" or "results"');
}

/** :classify answers a list of [label, score] pairs per example; :regress a number. */
function classifyResult(r: unknown, mapping: ModelMapping): Omit<InferenceRecord, "features"> {
  if (Array.isArray(r) && r.every((pair) => Array.isArray(pair) && pair.length === 2)) {
    const pairs = r as Array<[unknown, unknown]>;
    const scores = Object.fromEntries(pairs.map(([label, score]) => [String(label), Number(score)]));
    const best = pairs.reduce((a, b) => (Number(b[1]) > Number(a[1]) ? b : a));
    return { predictedClass: String(best[0]), scores };
  }
  return answerOf(r, mapping);
}

function rowFeatures(row: unknown, mapping: ModelMapping): InferenceRecord["features"] {
  const features: InferenceRecord["features"] = {};
  if (Array.isArray(row))
    putEach(features, row.flat(Number.POSITIVE_INFINITY), (i) => columnName(mapping, i));
  else if (typeof row === "object" && row !== null)
    for (const [k, v] of Object.entries(row)) {
      if (Array.isArray(v)) putEach(features, v, (j) => `${k}_${j}`);
      else put(features, k, v);
    }
  else put(features, columnName(mapping, 0), row);
  return features;
}

/** Each value of a list as a feature, named by its position. */
function putEach(
  features: InferenceRecord["features"],
  values: readonly unknown[],
  name: (i: number) => string,
): void {
  for (let i = 0; i < values.length; i++) put(features, name(i), values[i]);
}

function put(features: InferenceRecord["features"], name: string, value: unknown): void {
  const v = scalar(value);
  if (v !== undefined) features[name] = v;
}

function object(body: unknown, what: string): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new PayloadError(`the ${what} is not a JSON object`);
  return body as Record<string, unknown>;
}
