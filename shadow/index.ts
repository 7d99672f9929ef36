export { type AnsweredPredictions, answerRows } from "./answers.js";
export {
  type CandidateOutput,
  type CandidateSpec,
  parseCandidateSpec,
  type SkipReason,
} from "./candidate.js";
export { CandidateError, type CandidateErrorCode } from "./errors.js";
export { type BatchAnswers, inferBatch } from "./infer.js";
export { LiveMirror, type LiveMirrorOptions, type MirrorStats } from "./live/mirror.js";
export { resolveModelFile } from "./model-file.js";
export { type OpenCandidate, type OpenOptions, openCandidate } from "./open-candidate.js";
export { CandidateRegistry, type RegisteredCandidate } from "./registry.js";
export { type ReplayRange, type ReplayReport, replayCandidate, replayRegistered } from "./replay.js";
export { createShadowMetrics, observeMirrorQueue, type ShadowMetrics } from "./telemetry.js";
