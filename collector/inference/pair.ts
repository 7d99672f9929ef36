import { type InferenceRecord, type ModelMapping, PayloadError } from "./payload.js";
import { v1Answers, v1Features } from "./v1.js";
import { isV2, v2Answers, v2Features } from "./v2.js";

/**
 * One request and its response read as inferences, one per instance, in the request's order: the Open
 * Inference Protocol (typed tensors) or v1 (TensorFlow Serving, KServe v1, TorchServe JSON), told apart by
 * the request's shape. Throws PayloadError when either cannot be read or their row counts differ.
 */
export function readInferences(
  request: unknown,
  response: unknown,
  mapping: ModelMapping = {},
): { records: InferenceRecord[]; version?: string } {
  const v2 = isV2(request);
  const features = v2 ? v2Features(request, mapping) : v1Features(request, mapping);
  const answered = v2 ? v2Answers(response, mapping) : { answers: v1Answers(response, mapping) };
  if (answered.answers.length !== features.length)
    throw new PayloadError(
      `the request has ${features.length} instance(s) and the response ${answered.answers.length} answer(s)`,
    );
  return {
    records: features.map((f, i) => ({ features: f, ...answered.answers[i] })),
    version: answered.version,
  };
}
