/**
 * What one inference (one instance of a request, and its answer) becomes: an `ml.prediction` event's parts.
 * Read from the payloads model servers exchange (v1.ts: TensorFlow Serving / KServe v1; v2.ts: the Open
 * Inference Protocol), by the KServe payload-logger sink and the tap proxy.
 */
export interface InferenceRecord {
  /** Numbers are numeric features; strings and booleans categorical. */
  features: Record<string, number | string>;
  predictedClass?: string;
  predictedValue?: number;
  scores?: Record<string, number>;
}

/**
 * How to read one model's payloads when they do not say it themselves: names for positional feature
 * columns, the labels of class indices or probability columns, the output tensor to read.
 */
export interface ModelMapping {
  features?: string[];
  classes?: string[];
  output?: string;
}

/** A payload that cannot be read as inferences; the message says what was expected. */
export class PayloadError extends Error {
  override readonly name = "PayloadError";
}

/** A feature value as the event contract takes it, or undefined for what is not a scalar (skipped). */
export function scalar(v: unknown): number | string | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return String(v);
  return undefined;
}

/** The name of positional column `i`: the mapping's, or `feature_<i>`. */
export function columnName(mapping: ModelMapping, i: number, prefix = "feature"): string {
  return mapping.features?.[i] ?? `${prefix}_${i}`;
}

/**
 * An answer read from numbers: probabilities over classes (argmax, labels from the mapping or the column
 * index), a class index when the mapping names classes, or a value.
 */
export function answerOf(output: unknown, mapping: ModelMapping): Omit<InferenceRecord, "features"> {
  if (typeof output === "string") return { predictedClass: output };
  if (typeof output === "number") {
    const label = mapping.classes?.[output];
    return label !== undefined && Number.isInteger(output)
      ? { predictedClass: label }
      : { predictedValue: output };
  }
  if (Array.isArray(output)) {
    // Loops rather than flat/every/map: the tap reads a row of probabilities per instance of every call.
    const flat = output.some(Array.isArray) ? (output.flat(Number.POSITIVE_INFINITY) as unknown[]) : output;
    if (flat.length === 1) return answerOf(flat[0], mapping);
    if (flat.every((x) => typeof x === "number")) {
      const p = flat as number[];
      let best = 0;
      const scores: Record<string, number> = {};
      for (let i = 0; i < p.length; i++) {
        if ((p[i] as number) > (p[best] as number)) best = i;
        const name = mapping.classes?.[i] ?? String(i);
        if (name === "__proto__")
          Object.defineProperty(scores, name, { value: p[i], enumerable: true, writable: true });
        else scores[name] = p[i] as number;
      }
      return {
        predictedClass: (p.length === 0 ? undefined : (mapping.classes?.[best] ?? String(best))) as string,
        scores,
      };
    }
    if (flat.every((x) => typeof x === "string")) return { predictedClass: flat[0] as string };
  }
  if (typeof output === "object" && output !== null) {
    const o = output as Record<string, unknown>;
    for (const k of ["label", "class", "classes", "predicted_class"])
      if (typeof o[k] === "string") {
        const rest = answerOf(o.probabilities ?? o.scores, mapping);
        return { ...rest, predictedClass: o[k] as string };
      }
    for (const k of ["probabilities", "scores", "probs"])
      if (o[k] !== undefined) return answerOf(o[k], mapping);
    for (const k of ["value", "prediction", "score"])
      if (typeof o[k] === "number") return { predictedValue: o[k] as number };
  }
  throw new PayloadError(
    `cannot read ${JSON.stringify(output)?.slice(0, 80)} as a class, probabilities or a value`,
  );
}
