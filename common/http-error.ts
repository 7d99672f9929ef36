/**
 * The one error type HTTP handlers throw. The app's `onError` renders it with `toResponse()`; a subclass
 * renders in its protocol's envelope (OTLP's google.rpc.Status), everything else as JSON
 * `{ "error": { "code", "message" } }`.
 */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 408 | 409 | 413 | 415 | 429 | 500 | 503,
    /** A stable, machine-readable reason, also the label on the rejected-requests counter. */
    readonly code: string,
    message: string,
    /** Seconds, sent as Retry-After with 429 and 503. */
    readonly retryAfterSeconds?: number,
    /** The request body was left unread: the connection cannot carry another request. */
    readonly closeConnection = false,
  ) {
    super(message);
  }

  toResponse(): Response {
    return new Response(JSON.stringify({ error: { code: this.code, message: this.message } }), {
      status: this.status,
      headers: this.headers("application/json"),
    });
  }

  protected headers(contentType: string): Headers {
    const headers = new Headers({ "content-type": contentType });
    if (this.retryAfterSeconds !== undefined) headers.set("retry-after", String(this.retryAfterSeconds));
    if (this.closeConnection) headers.set("connection", "close");
    return headers;
  }
}

/**
 * Renders any thrown value: an HttpError as itself, anything else as a 500 that hides internals from the
 * caller and hands the error to `report` (the service log), which the answer points to.
 */
export function errorResponse(err: unknown, report: (err: unknown) => void = () => {}): Response {
  if (err instanceof HttpError) return err.toResponse();
  try {
    report(err);
  } catch {}
  return new HttpError(500, "internal", "internal error; see the service log").toResponse();
}
