export { contentTypeFor, OUTPUT_FORMATS, type OutputFormat } from "./formats.js";
export { type SqlEndpointOptions, sqlRoutes } from "./sql-endpoint.js";
