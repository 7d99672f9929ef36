/** Why a candidate was refused; the message says what to change. */
export type CandidateErrorCode = "SPEC" | "PATH" | "MODEL" | "MISMATCH";

/** A candidate that cannot be registered: a bad spec, a file outside the models directory, an unusable model. */
export class CandidateError extends Error {
  override readonly name = "CandidateError";
  constructor(
    readonly code: CandidateErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
