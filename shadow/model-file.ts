import { realpathSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { CandidateError } from "./errors.js";

/**
 * The real path of `file` inside `modelsDir`, or CandidateError("PATH"). A candidate's file comes from
 * whoever registers it; only the models directory the operator configured may be read, so `..`,
 * absolute paths elsewhere and symbolic links that lead out are all refused.
 */
export function resolveModelFile(modelsDir: string, file: string): string {
  let root: string;
  try {
    root = realpathSync(modelsDir);
  } catch (cause) {
    throw new CandidateError("PATH", `the models directory ${modelsDir} cannot be read`, { cause });
  }
  const asked = resolve(root, file);
  if (!inside(root, asked)) throw outside(file, modelsDir);
  let real: string;
  try {
    real = realpathSync(asked);
  } catch (cause) {
    throw new CandidateError("PATH", `model file ${file} does not exist in ${modelsDir}`, { cause });
  }
  // The name was inside; where it leads must be too (a symbolic link may point anywhere).
  if (!inside(root, real)) throw outside(file, modelsDir);
  if (!statSync(real).isFile()) throw new CandidateError("PATH", `model file ${file} is not a file`);
  return real;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel);
}

function outside(file: string, modelsDir: string): CandidateError {
  return new CandidateError(
    "PATH",
    `model file ${file} is outside the models directory ${modelsDir}: put the file there and name it relative to it`,
  );
}
