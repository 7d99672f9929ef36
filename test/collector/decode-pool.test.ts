import { afterAll, describe, expect, it } from "vitest";
import { DecodePool, type ReadResult, type RequestFormat, readRequest } from "../../collector/index.js";
import { jsonLogsBody, logsBody, str } from "../helpers/otlp.js";

// The pool runs the built worker (dist/collector/decode-worker.js): `npm test` builds before testing.
const limits = { maxAttributesPerRecord: 64, maxFutureMs: 3_600_000, maxPastMs: 30 * 86_400_000 };
const pool = new DecodePool({ threads: 2, limits });
afterAll(() => pool.close());

const NOW = Date.now();
const utf8 = new TextEncoder();

const bodies: Array<[string, RequestFormat, Uint8Array]> = [
  [
    "OTLP protobuf with a rejected record",
    "otlp-logs-protobuf",
    logsBody([
      {
        eventName: "ml.prediction",
        timestamp: NOW - 1000,
        attributes: {
          "ml.model.name": "m",
          "ml.prediction.id": "p1",
          "ml.feature.x": 1.5,
          "ml.segment.s": "eu",
        },
      },
      { eventName: "ml.prediction", timestamp: NOW - 1000, attributes: { "ml.prediction.id": "p2" } },
      {
        eventName: "ml.label",
        timestamp: NOW - 500,
        attributes: { "ml.model.name": "m", "ml.prediction.id": "p1", "ml.label.class": "yes" },
      },
    ]),
  ],
  [
    "OTLP JSON",
    "otlp-logs-json",
    utf8.encode(
      jsonLogsBody([
        {
          eventName: "ml.prediction",
          timeUnixNano: String(BigInt(NOW) * 1_000_000n),
          attributes: [
            str("ml.model.name", "j"),
            str("ml.prediction.id", "q1"),
            str("ml.prediction.class", "a"),
          ],
        },
      ]),
    ),
  ],
  [
    "NDJSON with a line that is not JSON",
    "ndjson",
    utf8.encode(
      `{"event":"ml.label","ml.model.name":"n","ml.prediction.id":"r1","ml.label.value":2.5,"time":${NOW}}\nnot json\n`,
    ),
  ],
  ["malformed protobuf", "otlp-logs-protobuf", Uint8Array.of(0x0a, 0xff, 0xff, 0xff)],
  ["invalid UTF-8", "ndjson", Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d)],
];

/** Rows as plain bytes: a Buffer crosses threads as a Uint8Array, the same bytes. */
const bytesOf = (r: ReadResult) =>
  r.ok ? { ...r, predictionRows: Array.from(r.predictionRows), labelRows: Array.from(r.labelRows) } : r;

describe("decode threads", () => {
  it.each(bodies)("read %s exactly as the event loop does", async (_name, format, body) => {
    const inline = readRequest(format, body, NOW, limits);
    const threaded = await pool.read(format, body, NOW);
    expect(bytesOf(threaded)).toEqual(bytesOf(inline));
  });

  it("hand back rows intact under concurrency, small ones included (never a shared pool buffer)", async () => {
    const small = (i: number) =>
      utf8.encode(
        `{"event":"ml.label","ml.model.name":"s","ml.prediction.id":"id-${i}","ml.label.class":"c${i}"}`,
      );
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => pool.read("ndjson", small(i), NOW)),
    );
    results.forEach((threaded, i) => {
      expect(bytesOf(threaded)).toEqual(bytesOf(readRequest("ndjson", small(i), NOW, limits)));
    });
  });
});
