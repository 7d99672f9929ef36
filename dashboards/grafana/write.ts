/**
 * npm run dashboards — writes the dashboards' JSON (dashboards.ts) into dashboards/grafana/, where
 * Grafana's file provisioning reads them. The test suite fails when a JSON file differs from what this writes.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DASHBOARDS, dashboardJson } from "./dashboards.js";

// dist/dashboards/grafana → dashboards/grafana in the source tree.
const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "..", "..", "..", "dashboards", "grafana");
for (const [file, dashboard] of Object.entries(DASHBOARDS)) {
  writeFileSync(join(target, file), dashboardJson(dashboard));
  console.log(`wrote ${join("dashboards", "grafana", file)}`);
}
