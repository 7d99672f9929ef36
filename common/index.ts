export { bearerAuth } from "./bearer-auth.js";
export { errorResponse, HttpError } from "./http-error.js";
export { type BodyLimits, readBody } from "./read-body.js";
