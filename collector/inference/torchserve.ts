import { readInferences } from "./pair.js";
import type { InferenceRecord, ModelMapping } from "./payload.js";
import { answerOf, PayloadError, scalar } from "./payload.js";

/**
 * TorchServe's inference API with JSON bodies: a body in v1 form (`instances`) is read as such; any other
 * JSON object is one instance whose scalar fields are its features. The answer: a {class: probability}
 * object (as the image classifier handler answers), or a class, a value, probabilities.
 */
export function readTorchServe(
  request: unknown,
  response: unknown,
  mapping: ModelMapping,
): InferenceRecord[] {
  const r = request as Record<string, unknown> | null;
  if (r && typeof r === "object" && ("instances" in r || "inputs" in r))
    return readInferences(request, response, mapping).records;
  if (!r || typeof r !== "object" || Array.isArray(r))
    throw new PayloadError("a TorchServe JSON request is an object");
  const features: InferenceRecord["features"] = {};
  for (const [k, v] of Object.entries(r)) {
    const x = scalar(v);
    if (x !== undefined) features[k] = x;
  }
  return [{ features, ...torchServeAnswer(response, mapping) }];
}

function torchServeAnswer(response: unknown, mapping: ModelMapping): Omit<InferenceRecord, "features"> {
  const answer = Array.isArray(response) && response.length === 1 ? response[0] : response;
  if (answer && typeof answer === "object" && !Array.isArray(answer)) {
    const entries = Object.entries(answer as Record<string, unknown>);
    if (entries.length > 0 && entries.every(([, v]) => typeof v === "number")) {
      const scores = Object.fromEntries(entries) as Record<string, number>;
      const best = entries.reduce((a, b) => ((b[1] as number) > (a[1] as number) ? b : a));
      return { predictedClass: best[0], scores };
    }
  }
  return answerOf(answer, mapping);
}
