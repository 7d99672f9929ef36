/**
 * npm run bench:shadow — a 20-input MLP (two hidden layers of 64, softmax over 2 classes) built here with
 * known weights, run by onnxruntime-node:
 * - replayed over 1 million stored predictions (BENCH_PREDICTIONS): replay inferences/s (read, run, write
 *   `shadow_predictions`) and, on the same batches, the model's own rate;
 * - mirrored live at 20,000 predictions/s (BENCH_LIVE_RATE, for BENCH_LIVE_SECONDS): the collector's CPU
 *   time per prediction with the candidate against without, side by side (bench/shadow-live.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inferBatch, openCandidate, replayCandidate } from "../shadow/index.js";
import { migrate, Store } from "../store/index.js";
import { type Dense, denseSoftmaxModel } from "./onnx-models.js";
import { type CpuPerRecord, type LiveRun, liveOverhead } from "./shadow-live.js";
import { tempDirectory } from "./temp.js";

const PREDICTIONS = Number(process.env.BENCH_PREDICTIONS ?? 1_000_000);
const FEATURES = 20;
const HIDDEN = 64;
const START = Date.UTC(2026, 10, 1);
const LIVE_RATE = Number(process.env.BENCH_LIVE_RATE ?? 20_000);
const LIVE_SECONDS = Number(process.env.BENCH_LIVE_SECONDS ?? 20);
const LIVE_ROUNDS = Number(process.env.BENCH_LIVE_ROUNDS ?? 2);

async function main(): Promise<void> {
  const dir = tempDirectory("modelwatch-bench-shadow-");
  const store = await Store.open({ database: "modelwatch", dataDir: join(dir.path, "data") });
  try {
    await migrate(store, { retentionDays: 90 });
    let t = performance.now();
    await store.client.command({
      query: `INSERT INTO modelwatch.predictions (time, model, model_version, prediction_id, predicted_class,
                features_numeric, source)
              SELECT fromUnixTimestamp64Milli(toInt64({start:Int64} + number * 10), 'UTC'), 'scorer', 'v1',
                toString(number), ['no', 'yes'][1 + number % 2],
                mapFromArrays(arrayMap(i -> concat('f', toString(i)), range(${FEATURES})),
                              arrayMap(i -> (cityHash64(number, i) % 2000) / 1000.0 - 1, range(${FEATURES}))),
                'events'
              FROM numbers({count:UInt64})`,
      query_params: { start: START, count: PREDICTIONS },
    });
    console.log(`generate: ${((performance.now() - t) / 1000).toFixed(1)} s for ${PREDICTIONS} predictions`);

    const models = join(dir.path, "models");
    mkdirSync(models);
    writeFileSync(join(models, "mlp.onnx"), denseSoftmaxModel(mlp([FEATURES, HIDDEN, HIDDEN, 2])));
    const features = Array.from({ length: FEATURES }, (_, i) => `f${i}`);
    const candidate = await openCandidate(
      {
        name: "mlp",
        shadows: "scorer",
        file: "mlp.onnx",
        input: { features },
        output: { kind: "probabilities", classes: ["no", "yes"] },
      },
      models,
    );
    try {
      t = performance.now();
      const report = await replayCandidate(store, candidate, {
        fromMs: START,
        toMs: START + PREDICTIONS * 10,
      });
      const seconds = (performance.now() - t) / 1000;
      console.log(`shadow_replay: ${Math.round(report.inferred / seconds)} inferences/s`);
      console.log(`shadow_replay_inferred: ${report.inferred} predictions`);
      console.log(`shadow_replay_model_share: ${((report.inferenceMs / 1000 / seconds) * 100).toFixed(0)} %`);
      // The model alone on batches of the same size.
      const batch = 4096;
      const x = Float32Array.from({ length: batch * FEATURES }, (_, i) => ((i * 7919) % 2000) / 1000 - 1);
      t = performance.now();
      let n = 0;
      while (performance.now() - t < 3000) {
        await inferBatch(candidate, x, batch);
        n += batch;
      }
      console.log(`shadow_model_only: ${Math.round(n / ((performance.now() - t) / 1000))} inferences/s`);
    } finally {
      await candidate.session.release();
    }
  } finally {
    await store.close();
    dir.remove();
  }
}

/** Dense layers of the given widths with small deterministic weights. */
function mlp(widths: number[]): Dense[] {
  let state = 1;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648 - 0.5;
  };
  return widths.slice(1).map((out, l) => ({
    weights: Array.from({ length: widths[l] as number }, () => Array.from({ length: out }, () => next() / 4)),
    bias: Array.from({ length: out }, () => next() / 10),
  }));
}

/** The live half: CPU per prediction with and without the candidate, run after run, and their ratio. */
async function live(): Promise<void> {
  const runs = await liveOverhead({
    model: denseSoftmaxModel(mlp([FEATURES, HIDDEN, HIDDEN, 2])),
    features: FEATURES,
    rate: LIVE_RATE,
    seconds: LIVE_SECONDS,
    rounds: LIVE_ROUNDS,
  });
  const mean = (rs: LiveRun[], part: keyof CpuPerRecord) =>
    rs.reduce((a, r) => a + r.cpu[part], 0) / rs.length;
  runs.without.forEach((r, i) => {
    const w = runs.with[i] as LiveRun;
    for (const part of ["collector", "process"] as const)
      console.log(
        `shadow_live_${part}_cpu_run${i + 1}: ${r.cpu[part].toFixed(2)} without, ${w.cpu[part].toFixed(2)} with us/record`,
      );
    console.log(
      `shadow_live_answers_run${i + 1}: ${w.answers} stored for ${w.records} sent, ${w.dropped} dropped`,
    );
  });
  console.log(`shadow_live_rate: ${LIVE_RATE} records/s`);
  for (const part of ["shadow", "engine"] as const)
    console.log(
      `shadow_live_${part}_cpu: ${mean(runs.without, part).toFixed(2)} without, ${mean(runs.with, part).toFixed(2)} with us/record`,
    );
  // The bar: what the mirror adds to the collector's own CPU time per record.
  for (const part of ["collector", "process"] as const) {
    const ratio = mean(runs.with, part) / mean(runs.without, part);
    console.log(`shadow_live_${part}_cpu_added: ${((ratio - 1) * 100).toFixed(1)} %`);
    console.log(`shadow_live_${part}_cpu_with_vs_without: ${ratio.toFixed(3)} ratio`);
  }
}

async function all(): Promise<void> {
  if (process.env.BENCH_SHADOW_PARTS !== "live") await main();
  if (process.env.BENCH_SHADOW_PARTS !== "replay") await live();
}

all().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
