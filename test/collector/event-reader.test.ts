import { describe, expect, it } from "vitest";
import { EventReader } from "../../collector/index.js";
import { Attributes, type AttrValue } from "../../collector/record-sink.js";
import { type PredictionSource, readPredictionRows } from "../../store/index.js";

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const limits = { maxAttributesPerRecord: 64, maxFutureMs: 3_600_000, maxPastMs: 30 * 86_400_000 };

type Attr = [string, AttrValue] | [string, number, "double"];

/** Feeds records to a reader the way the protobuf decoder does: doubles through numberAttribute. */
function read(
  records: Array<{ event?: string; attrs: Attr[]; resource?: Attributes }>,
  source: PredictionSource = "otlp-logs",
) {
  const reader = new EventReader(source, limits, NOW);
  for (const r of records) {
    reader.beginRecord(r.resource ?? Attributes.EMPTY);
    for (const a of r.attrs) {
      if (a.length === 3) reader.numberAttribute(a[0], a[1]);
      else reader.attribute(a[0], a[1]);
    }
    reader.endRecord({
      timeMs: NOW - 1000,
      observedTimeMs: 0,
      eventName: r.event ?? "ml.prediction",
      traceId: "",
      spanId: "",
      durationMs: null,
    });
  }
  return reader;
}

/** The predictions a reader accepted, read back from the rows it wrote. */
function predictionsOf(reader: EventReader) {
  return readPredictionRows(reader.predictions.bytes());
}

const kv = (entries: Record<string, AttrValue>) => {
  const a = new Attributes();
  for (const [k, v] of Object.entries(entries)) a.add(k, v);
  return a;
};

describe("EventReader", () => {
  it("a key set twice in one record keeps the later value, however each was sent", () => {
    const reader = read([
      {
        attrs: [
          ["ml.model.name", "m"],
          ["ml.feature.a", 1, "double"],
          ["ml.feature.a", 2, "double"], // double then double
          ["ml.feature.b", 3], // int then double
          ["ml.feature.b", 4, "double"],
          ["ml.features", kv({ c: 5 })], // kvlist then flat
          ["ml.feature.c", 6, "double"],
          ["ml.feature.d", 7, "double"], // flat then kvlist
          ["ml.features", kv({ d: 8 })],
        ],
      },
      // The next record starts afresh: the same keys are new again.
      {
        attrs: [
          ["ml.model.name", "m"],
          ["ml.feature.a", 9, "double"],
        ],
      },
    ]);
    expect(reader.rejections).toEqual([]);
    expect(Object.fromEntries(predictionsOf(reader)[0]?.numericFeatures ?? [])).toEqual({
      a: 2,
      b: 4,
      c: 6,
      d: 8,
    });
    expect(Object.fromEntries(predictionsOf(reader)[1]?.numericFeatures ?? [])).toEqual({ a: 9 });
  });

  it("reads ml.model.* from the resource, the record's own attributes winning", () => {
    const resource = kv({ "ml.model.name": "from-resource", "ml.model.version": 3 });
    const reader = read([
      { resource, attrs: [] },
      { resource, attrs: [["ml.model.name", "from-record"]] },
    ]);
    expect([predictionsOf(reader)[0]?.model, predictionsOf(reader)[0]?.modelVersion]).toEqual([
      "from-resource",
      "3",
    ]);
    expect(predictionsOf(reader)[1]?.model).toBe("from-record");
  });

  it("generates a prediction id when there is none, and requires one on a label", () => {
    const reader = read([
      { attrs: [["ml.model.name", "m"]] },
      {
        event: "ml.label",
        attrs: [
          ["ml.model.name", "m"],
          ["ml.label.class", "x"],
        ],
      },
    ]);
    expect(predictionsOf(reader)[0]?.predictionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(reader.rejections).toEqual([
      { index: 1, reason: "missing_attribute", message: "attribute ml.prediction.id is missing on a label" },
    ]);
  });

  it("refuses a record with more attributes than the limit, and counts its attributes right", () => {
    const attrs: Attr[] = [
      ["ml.model.name", "m"],
      ...Array.from({ length: 64 }, (_, i): Attr => [`ml.feature.f${i}`, i, "double"]),
    ];
    const reader = read([{ attrs }]);
    expect(reader.rejections[0]).toMatchObject({
      reason: "too_many_attributes",
      message: "65 attributes, more than the limit of 64",
    });
    expect(reader.predictions.length).toBe(0);
  });

  it.each([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
  ])("refuses a %s feature, naming the attribute", (_name, value) => {
    const reader = read([
      {
        attrs: [
          ["ml.model.name", "m"],
          ["ml.feature.x", value, "double"],
        ],
      },
    ]);
    expect(reader.rejections[0]?.message).toBe("attribute ml.feature.x must be a finite number");
  });

  it("skips spans without model attributes instead of refusing them", () => {
    const reader = read([{ attrs: [["http.route", "/"]] }], "otlp-traces");
    expect(reader.ignored).toBe(1);
    expect(reader.rejections).toEqual([]);
  });
});
