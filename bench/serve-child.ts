import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The built CLI, found from the project root (this file runs from bench/ or from dist/bench/). */
export const CLI = join(projectRoot(dirname(fileURLToPath(import.meta.url))), "dist", "bin", "modelwatch.js");

/** The folder holding package.json, above `dir`. */
export function projectRoot(dir: string): string {
  if (existsSync(join(dir, "package.json"))) return dir;
  const parent = dirname(dir);
  if (parent === dir) throw new Error("no package.json above the bench folder");
  return projectRoot(parent);
}

/**
 * Node's flags for `serve`, as `npm start`, the CLI's shebang and the Dockerfile give them: a young
 * generation of 64 MB (fewer scavenges at ingest's rates), and garbage collected by the thread whose heap it
 * is, without helper threads (on two busy cores a scavenge waiting for its helpers to be scheduled held the
 * tap's thread 5–20 ms; bench:tap's p99 halved, bench:ingest's rate did not drop: measured).
 */
const SERVE_NODE_FLAGS = ["--max-semi-space-size=64", "--single-threaded-gc"];

/**
 * Starts `modelwatch serve` as a child process on a port of the system's choosing (port 0; the port is read
 * back from its start-up line) and waits until it is ready.
 */
export async function startServeChild(
  args: string[],
  env: NodeJS.ProcessEnv,
  cli = CLI,
): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  const child = spawn(
    process.execPath,
    [
      ...SERVE_NODE_FLAGS,
      ...(process.env.BENCH_CHILD_NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
      cli,
      "serve",
      "--http-port",
      "0",
      "--grpc-port",
      "0",
      ...args,
    ],
    {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  const [scheme, port] = await new Promise<[string, string]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start within 60 s: ${stderr}`)), 60_000);
    child.stderr?.on("data", (d) => {
      stderr += d;
      const match = /listening on (https?):\/\/[^\s]+:(\d+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve([match[1] as string, match[2] as string]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${stderr}`));
    });
  });
  const url = `${scheme}://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await ready(`${url}/readyz`)) === 200) return { child, url, log: () => stderr };
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error(`serve did not become ready: ${stderr}`);
}

/** The status of a GET; over HTTPS without checking the certificate (a loopback readiness probe only). */
function ready(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith("https:") ? httpsGet : httpGet)(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
  });
}
