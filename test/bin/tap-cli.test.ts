import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, startServe, stop } from "../helpers/cli.js";
import { tempDir } from "../helpers/service.js";

const dir = tempDir();
let upstream: Server | undefined;
afterAll(async () => {
  await new Promise((r) => (upstream ? upstream.close(r) : r(undefined)));
  dir.remove();
});

describe("modelwatch tap", () => {
  it("runs as its own process and sends what it records to the service over OTLP", {
    timeout: 60_000,
  }, async () => {
    upstream = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ predictions: [[0.2, 0.8]] }));
      });
    });
    await new Promise<void>((resolve) => upstream?.listen(0, "127.0.0.1", resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const serve = await startServe(["--ingest-tokens", "t0k", "--host", "127.0.0.1"], {
      MODELWATCH_DATA_DIR: dir.path,
    });
    const tap = spawn(
      process.execPath,
      [
        CLI,
        "tap",
        "--upstream",
        `http://127.0.0.1:${upstreamPort}`,
        "--port",
        "0",
        "--service",
        serve.url,
        "--ingest-tokens",
        "t0k",
      ],
      { env: { PATH: process.env.PATH }, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    const port = await new Promise<string>((resolve, reject) => {
      tap.stderr.on("data", (d) => {
        stderr += d;
        const m = /tap proxy listening on [^:]+:(\d+)/.exec(stderr);
        if (m) resolve(m[1] as string);
      });
      tap.once("exit", (code) => reject(new Error(`tap exited with ${code}: ${stderr}`)));
    });
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v1/models/churn:predict`, {
        method: "POST",
        body: JSON.stringify({ instances: [{ tenure: 12 }] }),
        headers: { "x-request-id": "cli-1" },
      });
      expect(await res.json()).toEqual({ predictions: [[0.2, 0.8]] });
      expect(res.headers.get("x-modelwatch-prediction-ids")).toBe("cli-1");
      const exited = new Promise<number | null>((resolve) => tap.once("exit", resolve));
      tap.kill("SIGTERM"); // sends what it holds, then exits
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/tap stopped: recorded 1/);
      const rows = await fetch(`${serve.url}/sql?fresh=1`, {
        method: "POST",
        headers: { authorization: "Bearer t0k" },
        body: "SELECT prediction_id, predicted_class, features_numeric['tenure'] FROM predictions FORMAT TSV",
      });
      expect((await rows.text()).trim()).toBe("cli-1\t1\t12");
    } finally {
      tap.kill("SIGKILL");
      await stop(serve.child);
    }
  });
});
