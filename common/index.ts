export { bearerAuth, bearerCheck, readAuth, unauthorizedMessage } from "./bearer-auth.js";
export { errorResponse, HttpError } from "./http-error.js";
export { InflightBudget, type InflightLimitOptions, inflightLimit } from "./inflight-limit.js";
export { megabytes } from "./megabytes.js";
export { ownsItsBuffer } from "./owns-its-buffer.js";
export { RateLimiter, type RateLimitOptions, rateLimit } from "./rate-limit.js";
export { type BodyLimits, readBody } from "./read-body.js";
export { describeThisThread } from "./this-thread.js";
export { within } from "./within.js";
