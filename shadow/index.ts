export { type CandidateOutput, type CandidateSpec, parseCandidateSpec } from "./candidate.js";
export { CandidateError, type CandidateErrorCode } from "./errors.js";
export { type CandidateAnswer, inferBatch } from "./infer.js";
export { resolveModelFile } from "./model-file.js";
export { type OpenCandidate, openCandidate } from "./open-candidate.js";
export { type ReplayRange, type ReplayReport, replayCandidate } from "./replay.js";
