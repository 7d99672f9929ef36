/** ONNX models with known weights, for the shadow tests and bench:shadow (built with onnx-proto, a dev dependency). */
import onnxProto, { type onnx } from "onnx-proto";

// onnx-proto is CommonJS: Node's ESM loader gives its exports as the default export only.
const proto = onnxProto.onnx;

/** A dense layer's weights: `weights[i][j]` from input i to output j, and a bias per output. */
export interface Dense {
  weights: number[][];
  bias: number[];
}

/**
 * An ONNX model (opset 13) of dense layers, ReLU between them and softmax at the end: a logistic
 * regression with one layer, an MLP with more. Input `inputName` is float32 [batch, inputs]; output
 * `probabilities` is float32 [batch, classes]. The weights are known, so a test computes the expected
 * outputs by plain arithmetic (see `forward`).
 */
export function denseSoftmaxModel(layers: Dense[], inputName = "features"): Uint8Array {
  return denseModel(layers, { name: inputName }, "probabilities");
}

/**
 * The softmax model fed as converters such as sklearn-onnx write it: one [batch, 1] input per column, named
 * after it (in `columns` order, the weights' row order), of element type `type`, concatenated and cast to
 * float inside the graph.
 */
export function columnsSoftmaxModel(
  layers: Dense[],
  columns: string[],
  type: "float32" | "float64" = "float32",
): Uint8Array {
  return denseModel(layers, { columns, type }, "probabilities");
}

/**
 * The same dense layers ending in a value instead of softmax (a regression model): output `value`, float32
 * [batch, 1]; the last layer has one output. Expected outputs: `forwardValue`.
 */
export function denseValueModel(layers: Dense[], inputName = "features"): Uint8Array {
  return denseModel(layers, { name: inputName }, "value");
}

type Inputs = { name: string } | { columns: string[]; type: "float32" | "float64" };

function denseModel(layers: Dense[], inputs: Inputs, head: "probabilities" | "value"): Uint8Array {
  const nodes: onnx.INodeProto[] = [];
  const initializer: onnx.ITensorProto[] = [];
  let current = "name" in inputs ? inputs.name : "x";
  if ("columns" in inputs) {
    nodes.push(
      new proto.NodeProto({
        opType: "Concat",
        input: inputs.columns,
        output: ["joined"],
        attribute: [
          new proto.AttributeProto({ name: "axis", type: proto.AttributeProto.AttributeType.INT, i: 1 }),
        ],
      }),
      new proto.NodeProto({
        opType: "Cast",
        input: ["joined"],
        output: [current],
        attribute: [
          new proto.AttributeProto({
            name: "to",
            type: proto.AttributeProto.AttributeType.INT,
            i: proto.TensorProto.DataType.FLOAT,
          }),
        ],
      }),
    );
  }
  layers.forEach((layer, l) => {
    const inputs = layer.weights.length;
    const outputs = layer.bias.length;
    initializer.push(
      tensor(`W${l}`, [inputs, outputs], layer.weights.flat()),
      tensor(`B${l}`, [outputs], layer.bias),
    );
    nodes.push(node("MatMul", [current, `W${l}`], [`mm${l}`]), node("Add", [`mm${l}`, `B${l}`], [`z${l}`]));
    current = `z${l}`;
    if (l < layers.length - 1) {
      nodes.push(node("Relu", [current], [`h${l}`]));
      current = `h${l}`;
    }
  });
  nodes.push(
    head === "value"
      ? node("Identity", [current], ["value"])
      : new proto.NodeProto({
          opType: "Softmax",
          input: [current],
          output: ["probabilities"],
          attribute: [
            new proto.AttributeProto({ name: "axis", type: proto.AttributeProto.AttributeType.INT, i: 1 }),
          ],
        }),
  );
  const first = layers[0] as Dense;
  const last = layers[layers.length - 1] as Dense;
  const graph = new proto.GraphProto({
    name: "dense_softmax",
    node: nodes,
    initializer,
    input:
      "name" in inputs
        ? [valueInfo(inputs.name, first.weights.length)]
        : inputs.columns.map((c) =>
            valueInfo(c, 1, inputs.type === "float64" ? proto.TensorProto.DataType.DOUBLE : undefined),
          ),
    output: [valueInfo(head, last.bias.length)],
  });
  const model = new proto.ModelProto({
    irVersion: 8,
    producerName: "modelwatch-tests",
    opsetImport: [new proto.OperatorSetIdProto({ domain: "", version: 13 })],
    graph,
  });
  return proto.ModelProto.encode(model).finish();
}

/** The softmax model's output for one input row, computed in double precision. */
export function forward(layers: Dense[], input: number[]): number[] {
  const x = logits(layers, input);
  const max = Math.max(...x);
  const exps = x.map((v) => Math.exp(v - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/** The value model's output for one input row, computed in double precision. */
export function forwardValue(layers: Dense[], input: number[]): number {
  return logits(layers, input)[0] as number;
}

/** The last layer's outputs before any softmax. */
function logits(layers: Dense[], input: number[]): number[] {
  let x = input;
  layers.forEach((layer, l) => {
    const z = layer.bias.map(
      (b, j) => b + x.reduce((sum, xi, i) => sum + xi * (layer.weights[i]?.[j] ?? 0), 0),
    );
    x = l < layers.length - 1 ? z.map((v) => Math.max(0, v)) : z;
  });
  return x;
}

function node(opType: string, input: string[], output: string[]): onnx.NodeProto {
  return new proto.NodeProto({ opType, input, output });
}

function tensor(name: string, dims: number[], values: number[]): onnx.TensorProto {
  return new proto.TensorProto({ name, dims, dataType: proto.TensorProto.DataType.FLOAT, floatData: values });
}

/** float32 [batch, width], the batch dimension symbolic. */
function valueInfo(
  name: string,
  width: number,
  elemType: number = proto.TensorProto.DataType.FLOAT,
): onnx.ValueInfoProto {
  return new proto.ValueInfoProto({
    name,
    type: new proto.TypeProto({
      tensorType: new proto.TypeProto.Tensor({
        elemType,
        shape: new proto.TensorShapeProto({
          dim: [
            new proto.TensorShapeProto.Dimension({ dimParam: "batch" }),
            new proto.TensorShapeProto.Dimension({ dimValue: width }),
          ],
        }),
      }),
    }),
  });
}
