/**
 * The wire reader against an independent decoder: protobufjs code generated from opentelemetry-proto
 * (v1.3, as shipped in @opentelemetry/otlp-transformer 0.52.1, installed as `otlp-proto-generated`), on
 * bodies encoded by the current OpenTelemetry SDK, and on mutated bodies.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { decodeLogsRequest } from "../../collector/otlp/logs-proto.js";
import { WireError, WireReader } from "../../collector/otlp/wire.js";
import { Attributes, type AttrValue, type RecordMeta, type RecordSink } from "../../collector/record-sink.js";
import { logsBody } from "../helpers/otlp.js";

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: generated protobufjs code, read loosely
const root: any = require("otlp-proto-generated/build/src/generated/root.js");
const ExportLogsServiceRequest = root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;

interface Flat {
  resource: Record<string, unknown>;
  attributes: Array<[string, unknown]>;
  timeMs: number;
  traceId: string;
  spanId: string;
}

/** Records as our reader hands them to a sink. */
function ours(body: Uint8Array): Flat[] {
  const out: Flat[] = [];
  let current: Flat | undefined;
  const sink: RecordSink = {
    beginRecord(resource) {
      current = {
        resource: plain(resource) as Record<string, unknown>,
        attributes: [],
        timeMs: 0,
        traceId: "",
        spanId: "",
      };
    },
    attribute(key, value) {
      current?.attributes.push([key, plain(value)]);
    },
    numberAttribute(key, value) {
      current?.attributes.push([key, value]);
    },
    endRecord(meta: RecordMeta) {
      if (!current) return;
      Object.assign(current, { timeMs: meta.timeMs, traceId: meta.traceId, spanId: meta.spanId });
      out.push(current);
    },
  };
  decodeLogsRequest(body, sink);
  return out;
}

function plain(v: AttrValue): unknown {
  if (v instanceof Attributes)
    return Object.fromEntries(v.keys.map((k, i) => [k, plain(v.values[i] as AttrValue)]));
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
  return v;
}

/** The same records by the generated decoder. */
function reference(body: Uint8Array): Flat[] {
  const msg = ExportLogsServiceRequest.decode(body);
  const out: Flat[] = [];
  for (const rl of msg.resourceLogs) {
    const resource = Object.fromEntries(
      (rl.resource?.attributes ?? []).map((kv: { key: string; value: unknown }) => [kv.key, any(kv.value)]),
    );
    for (const sl of rl.scopeLogs) {
      for (const lr of sl.logRecords) {
        out.push({
          resource,
          attributes: lr.attributes.map((kv: { key: string; value: unknown }) => [kv.key, any(kv.value)]),
          timeMs: Number(BigInt(lr.timeUnixNano.toString()) / 1_000_000n),
          traceId: Buffer.from(lr.traceId ?? []).toString("hex"),
          spanId: Buffer.from(lr.spanId ?? []).toString("hex"),
        });
      }
    }
  }
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: generated AnyValue
function any(v: any): unknown {
  if (!v) return null;
  if (v.stringValue != null) return v.stringValue;
  if (v.boolValue != null) return v.boolValue;
  if (v.intValue != null) return Number(v.intValue.toString());
  if (v.doubleValue != null) return v.doubleValue;
  if (v.arrayValue != null) return (v.arrayValue.values ?? []).map(any);
  if (v.kvlistValue != null)
    return Object.fromEntries(
      (v.kvlistValue.values ?? []).map((kv: { key: string; value: unknown }) => [kv.key, any(kv.value)]),
    );
  if (v.bytesValue != null) return Buffer.from(v.bytesValue).toString("hex");
  return null;
}

const body = () =>
  logsBody(
    [
      {
        eventName: "ml.prediction",
        timestamp: Date.UTC(2026, 10, 28, 9, 0, 0, 123),
        attributes: {
          "ml.prediction.id": "ünïcödé-✓",
          "ml.feature.double": -0.1,
          "ml.feature.int": 42,
          "ml.feature.negative_int": -7,
          "ml.feature.big_int": 2 ** 40 + 3,
          "ml.feature.bool": false,
          "ml.features": { nested: { deeper: [1, "two", true] }, bytes: new Uint8Array([0, 255, 7]) },
          "ml.feature.empty": "",
        },
      },
      { eventName: "ml.label", attributes: { "ml.label.value": 1e-300, "ml.label.class": "x".repeat(300) } },
    ],
    { "ml.model.name": "resource-model", "service.name": "svc" },
  );

describe("the OTLP wire reader", () => {
  it("reads what the generated decoder reads, value for value", () => {
    const b = body();
    const a = ours(b);
    expect(a).toHaveLength(2);
    expect(a).toEqual(reference(b));
  });

  it("on mutated bodies, either reads them or throws WireError; never anything else", () => {
    const original = body();
    let state = 12345;
    const random = (n: number) => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      return state % n;
    };
    let read = 0;
    let refused = 0;
    for (let round = 0; round < 500; round++) {
      const b = Buffer.from(original);
      const flips = 1 + random(4);
      for (let f = 0; f < flips; f++) b[random(b.length)] = random(256);
      const cut = random(10) === 0 ? random(b.length) : b.length;
      try {
        ours(b.subarray(0, cut));
        read++;
      } catch (err) {
        expect(err).toBeInstanceOf(WireError);
        refused++;
      }
    }
    expect(read + refused).toBe(500);
    expect(refused).toBeGreaterThan(0);
  });
});

describe("timestamps", () => {
  it.each([
    [0n, 0],
    [999_999n, 0],
    [1_000_000n, 1],
    [1_795_884_705_014_999_999n, 1_795_884_705_014],
    [18_446_744_073_709_551_615n, 18_446_744_073_709], // the largest fixed64
  ])("%s ns is %i ms, truncated exactly", (ns, ms) => {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, ns, true);
    expect(new WireReader(bytes).fixed64NanosAsMs()).toBe(ms);
  });
});
