import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, startServe, stop } from "../helpers/cli.js";
import { tempDir } from "../helpers/service.js";

const dir = tempDir();
afterAll(() => dir.remove());

// The certificate is made here with the system's openssl (Debian's openssl package).
const openssl = spawnSync("openssl", ["version"]).status === 0;

/** A POST over HTTPS that trusts only `ca`, to a name the certificate carries. */
function post(url: string, body: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", ca, servername: "modelwatch.test" }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe.skipIf(!openssl)(
  openssl ? "HTTPS" : "HTTPS (skipped: no openssl on this machine to make a certificate)",
  () => {
    it("serves ingest and the CLI over TLS with the configured certificate, and refuses plain HTTP", {
      timeout: 60_000,
    }, async () => {
      const cert = join(dir.path, "cert.pem");
      const key = join(dir.path, "key.pem");
      const made = spawnSync("openssl", [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=modelwatch.test",
        "-addext",
        "subjectAltName=DNS:modelwatch.test",
      ]);
      expect(made.status, made.stderr.toString()).toBe(0);
      const env = {
        MODELWATCH_DATA_DIR: join(dir.path, "data"),
        MODELWATCH_TLS_CERT: cert,
        MODELWATCH_TLS_KEY: key,
      };
      const serve = await startServe([], env);
      try {
        expect(serve.url).toMatch(/^https:/);
        const event = JSON.stringify({
          event: "ml.prediction",
          "ml.model.name": "tls-model",
          "ml.prediction.id": "t1",
        });
        expect(await post(`${serve.url}/v1/events`, event, readFileSync(cert, "utf8"))).toBe(200);
        // Plain HTTP to the TLS port gets no answer.
        await expect(fetch(`${serve.url.replace("https:", "http:")}/healthz`)).rejects.toThrow();
        // The CLI reaches the service over TLS, trusting the configured certificate.
        const port = new URL(serve.url).port;
        const sql = await runCli(["sql", "--http-port", port, "SELECT prediction_id FROM predictions"], env);
        expect(sql).toMatchObject({ code: 0, stdout: "prediction_id\nt1\n" });
      } finally {
        await stop(serve.child);
      }
    });

    it("needs both the certificate and the key", async () => {
      const res = await runCli(["serve"], { MODELWATCH_DATA_DIR: dir.path, MODELWATCH_TLS_CERT: "/x.pem" });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain("go together: set both or neither");
    });
  },
);
