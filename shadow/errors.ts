/** Why a candidate was refused; the message says what to change. */
export type CandidateErrorCode =
  | "SPEC"
  | "PATH"
  | "MODEL"
  | "MISMATCH"
  /** Registering a name already registered. */
  | "EXISTS"
  /** Naming a candidate that is not registered. */
  | "UNKNOWN";

/**
 * A candidate that cannot be registered (a bad spec, a file outside the models directory, an unusable model,
 * a name taken) or found.
 */
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
