/**
 * npm run demo:model — writes demo/churn-candidate.onnx, the demo's shadow candidate, from the weights in
 * candidate.ts (the same ONNX builder the benchmarks use). The file is committed: the demo never builds it.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { denseSoftmaxModel } from "../bench/onnx-models.js";
import { CANDIDATE_WEIGHTS } from "./candidate.js";

const source = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "demo");
writeFileSync(join(source, "churn-candidate.onnx"), denseSoftmaxModel([CANDIDATE_WEIGHTS]));
console.log("wrote demo/churn-candidate.onnx");
