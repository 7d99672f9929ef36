export { type Health, type ModelHealth, type ModelView, modelHealth, modelView } from "./data.js";
export { type Assets, modelPage, overviewPage } from "./html.js";
export { timeRange, uplotAssets, webRoutes } from "./routes.js";
