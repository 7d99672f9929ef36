import { describe, expect, it } from "vitest";
import { PayloadError, readInferences } from "../../collector/index.js";
import { encodeCallBatch, readCallBatch } from "../../collector/inference/call-batch.js";
import { type CapturedCall, idsHeaderValue, readCall } from "../../collector/inference/captured-call.js";
import { answerOf, type ModelMapping } from "../../collector/inference/payload.js";
import { EventObjects } from "../helpers/event-objects.js";

describe("inference payloads", () => {
  it("read TensorFlow Serving / KServe v1 rows: objects, positional arrays, columnar inputs", () => {
    const positional = readInferences(
      {
        instances: [
          [1, 2],
          [3, 4],
        ],
      },
      { predictions: [0, 1] },
      { features: ["age", "income"], classes: ["no", "yes"] },
    );
    expect(positional.records).toEqual([
      { features: { age: 1, income: 2 }, predictedClass: "no" },
      { features: { age: 3, income: 4 }, predictedClass: "yes" },
    ]);
    const columnar = readInferences(
      {
        inputs: {
          age: [30, 40],
          city: ["Paris", "Oslo"],
          vec: [
            [1, 2],
            [3, 4],
          ],
        },
      },
      { outputs: { score: [0.25, 0.75] } },
    );
    expect(columnar.records).toEqual([
      { features: { age: 30, city: "Paris", vec_0: 1, vec_1: 2 }, predictedValue: 0.25 },
      { features: { age: 40, city: "Oslo", vec_0: 3, vec_1: 4 }, predictedValue: 0.75 },
    ]);
    // Without a mapping, probability columns are named by index and positional features feature_<i>.
    expect(readInferences({ instances: [[5, true]] }, { predictions: [[0.3, 0.7]] }).records).toEqual([
      { features: { feature_0: 5, feature_1: "true" }, predictedClass: "1", scores: { "0": 0.3, "1": 0.7 } },
    ]);
  });

  it("read :classify and :regress answers, and answers as objects", () => {
    const classify = readInferences(
      { examples: [{ x: 1 }] },
      {
        results: [
          [
            ["cat", 0.2],
            ["dog", 0.8],
          ],
        ],
      },
    );
    expect(classify.records[0]).toEqual({
      features: { x: 1 },
      predictedClass: "dog",
      scores: { cat: 0.2, dog: 0.8 },
    });
    expect(readInferences({ examples: [{ x: 1 }] }, { results: [3.5] }).records[0]?.predictedValue).toBe(3.5);
    const objects = readInferences(
      { instances: [{ x: 1 }] },
      { predictions: [{ label: "spam", probabilities: [0.1, 0.9] }] },
      { classes: ["ham", "spam"] },
    );
    expect(objects.records[0]).toMatchObject({ predictedClass: "spam", scores: { ham: 0.1, spam: 0.9 } });
  });

  it("read Open Inference Protocol tensors: several inputs, text, the output named", () => {
    const read = readInferences(
      {
        inputs: [
          { name: "age", shape: [2, 1], datatype: "INT32", data: [30, 40] },
          { name: "city", shape: [2], datatype: "BYTES", data: ["Paris", "Oslo"] },
        ],
      },
      {
        model_version: "3",
        outputs: [
          { name: "probabilities", shape: [2, 2], datatype: "FP32", data: [0.9, 0.1, 0.4, 0.6] },
          { name: "label", shape: [2], datatype: "BYTES", data: ["no", "yes"] },
        ],
      },
      { output: "label" },
    );
    expect(read.version).toBe("3");
    expect(read.records).toEqual([
      { features: { age: 30, city: "Paris" }, predictedClass: "no" },
      { features: { age: 40, city: "Oslo" }, predictedClass: "yes" },
    ]);
  });

  it("refuse what they cannot read, saying what was expected", () => {
    const cases: Array<[unknown, unknown, RegExp]> = [
      [[], {}, /not a JSON object/],
      [{ rows: [] }, {}, /has "instances", "inputs" or "examples"/],
      [{ instances: [1] }, { nothing: 1 }, /has "predictions", "outputs" or "results"/],
      [
        { inputs: [{ name: "x", shape: [2, 2], datatype: "FP32", data: [1, 2, 3] }] },
        { outputs: [{ name: "y", shape: [2], datatype: "FP32", data: [1, 2] }] },
        /tensor x: shape \[2, 2\] does not fit its 3 values/,
      ],
      [{ instances: [1] }, { predictions: [{ weird: true }] }, /cannot read .* as a class/],
    ];
    for (const [request, response, message] of cases) {
      expect(() => readInferences(request, response)).toThrow(PayloadError);
      expect(() => readInferences(request, response)).toThrow(message);
    }
  });

  it("read a captured call as one ml.prediction record per instance, in the event contract's names", () => {
    const sink = new EventObjects();
    const request = JSON.stringify({
      instances: [{ tenure: 12, plan: 'pro "annual"' }, { naïve: 1 }, { tenure: 3 }],
    });
    const response = JSON.stringify({ predictions: [[0.2, 0.8], [0.9, 0.1], "maybe"] });
    const reading = readCall(
      {
        reader: "inference",
        model: "churn",
        version: "7",
        idBase: 'r"',
        instances: 3,
        timeMs: 1_700_000_000_123,
        segments: { endpoint: "canary" },
        latencyMs: 0.25,
        // A body in the chunks it arrived in, split inside a character.
        request: [Buffer.from(request).subarray(0, 40), Buffer.from(request).subarray(40)],
        response: Buffer.from(response),
      },
      { classes: ["stay", "leave"] },
      sink,
    );
    expect(reading).toEqual({ outcome: "recorded", predictions: 3 });
    const shared = {
      event: "ml.prediction",
      time: 1_700_000_000_123,
      "ml.model.name": "churn",
      "ml.model.version": "7",
      "ml.segment.endpoint": "canary",
      "ml.latency_ms": 0.25,
    };
    expect(sink.events).toEqual([
      {
        ...shared,
        "ml.prediction.id": 'r"-0',
        "ml.prediction.class": "leave",
        "ml.prediction.scores": { stay: 0.2, leave: 0.8 },
        "ml.features": { tenure: 12, plan: 'pro "annual"' },
      },
      {
        ...shared,
        "ml.prediction.id": 'r"-1',
        "ml.prediction.class": "stay",
        "ml.prediction.scores": { stay: 0.9, leave: 0.1 },
        "ml.features": { naïve: 1 },
      },
      { ...shared, "ml.prediction.id": 'r"-2', "ml.prediction.class": "maybe", "ml.features": { tenure: 3 } },
    ]);
  });

  it("name a call's predictions from its id base, or afresh when the ids named do not fit", () => {
    const ids = (n: number, call: { idBase?: string; instances?: number }) => {
      const sink = new EventObjects();
      readCall(
        {
          reader: "inference",
          model: "m",
          version: "",
          ...call,
          timeMs: 5,
          request: Buffer.from(JSON.stringify({ instances: Array.from({ length: n }, () => ({ x: 1 })) })),
          response: Buffer.from(JSON.stringify({ predictions: Array.from({ length: n }, () => 2.5) })),
        },
        {},
        sink,
      );
      return sink.events.map((e) => e["ml.prediction.id"]) as string[];
    };
    expect(ids(1, { idBase: "ce-1" })).toEqual(["ce-1"]);
    expect(ids(2, { idBase: "ce-1" })).toEqual(["ce-1-0", "ce-1-1"]);
    expect(ids(2, { idBase: "r", instances: 2 })).toEqual(["r-0", "r-1"]); // as the tap's answer named them
    expect(idsHeaderValue(2, "r")).toBe("r-0,r-1");
    expect(idsHeaderValue(1, "r")).toBe("r");
    for (const fresh of [ids(2, { idBase: "r", instances: 3 }), ids(2, {})]) {
      expect(fresh[0]).toMatch(/^[0-9a-f-]{36}-0$/);
      expect(fresh[1]).toBe(`${fresh[0]?.slice(0, -2)}-1`);
    }
  });

  it("carry captured calls across threads as one batch, each read with its model's mapping", () => {
    const body = (o: unknown) => Buffer.from(JSON.stringify(o));
    const calls: CapturedCall[] = [
      {
        reader: "inference",
        model: "a",
        version: "",
        idBase: "a1",
        timeMs: 1,
        request: body({ instances: [[1, 2]] }),
        response: body({ predictions: [[0.3, 0.7]] }),
      },
      {
        reader: "inference",
        model: "b",
        version: "",
        timeMs: 2,
        request: body({ instances: [1] }),
        response: body({ predictions: [{ weird: true }] }),
      },
      { reader: "torchserve", model: "c", version: "", timeMs: 3, request: [], response: body({}) },
      {
        reader: "inference",
        model: "v2m",
        version: "",
        idBase: "v",
        timeMs: 4,
        request: body({ inputs: [{ name: "x", shape: [1], datatype: "FP32", data: [1.5] }] }),
        response: body({
          model_version: "9",
          outputs: [{ name: "y", shape: [1], datatype: "FP32", data: [2] }],
        }),
      },
    ];
    const batch = encodeCallBatch(calls, { a: { features: ["p", "q"], classes: ["no", "yes"] }, z: {} });
    const sink = new EventObjects();
    const report = readCallBatch(batch, sink);
    expect(report).toEqual({
      recorded: 2,
      passedThrough: 1,
      unreadable: [{ index: 1, message: expect.stringMatching(/cannot read .* as a class/) }],
    });
    expect(sink.events).toEqual([
      {
        event: "ml.prediction",
        time: 1,
        "ml.model.name": "a",
        "ml.prediction.id": "a1",
        "ml.prediction.class": "yes",
        "ml.prediction.scores": { no: 0.3, yes: 0.7 },
        "ml.features": { p: 1, q: 2 },
      },
      {
        event: "ml.prediction",
        time: 4,
        "ml.model.name": "v2m",
        "ml.prediction.id": "v",
        "ml.model.version": "9",
        "ml.prediction.value": 2,
        "ml.features": { x: 1.5 },
      },
    ]);
  });

  it.each([
    // argmax of [0.1, 0.9] is column 1; scores keyed by column index without class names
    [[0.1, 0.9], {}, { predictedClass: "1", scores: { "0": 0.1, "1": 0.9 } }],
    // nested one-per-row columns read flat; a tie goes to the first column
    [[[0.5], [0.5]], { classes: ["no", "yes"] }, { predictedClass: "no", scores: { no: 0.5, yes: 0.5 } }],
    // a class named like Object's prototype stays a score of its own
    [
      [0.2, 0.8],
      { classes: ["__proto__", "b"] },
      { predictedClass: "b", scores: { ["__proto__"]: 0.2, b: 0.8 } },
    ],
    [[3], { classes: ["a", "b", "c", "d"] }, { predictedClass: "d" }],
    [["cat", "dog"], {}, { predictedClass: "cat" }],
  ] as Array<[unknown, ModelMapping, ReturnType<typeof answerOf>]>)(
    "read an answer %j with %j as %j",
    (output, mapping, expected) => {
      const answer = answerOf(output, mapping);
      expect(answer).toEqual(expected);
      expect(Object.keys(answer.scores ?? {})).toEqual(Object.keys(expected.scores ?? {}));
    },
  );
});
