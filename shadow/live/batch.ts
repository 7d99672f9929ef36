import type { PredictionFeaturesView } from "../../store/rows.js";
import type { SkipReason } from "../candidate.js";

/**
 * Mirrored predictions gathered for one candidate until a batch is full: features row-major in the order
 * the candidate's input wants them, with the identity of each row's production prediction.
 */
export class FeatureBatch {
  readonly features: Float32Array;
  readonly timeMs: Float64Array;
  readonly versions: string[] = [];
  readonly ids: string[] = [];
  rows = 0;
  /**
   * Where each wanted feature sat in the last row read: producers send features in a fixed order, so the
   * next row's are usually found at once.
   */
  private readonly lastAt: number[];

  constructor(
    private readonly wanted: readonly string[],
    readonly capacity: number,
  ) {
    this.features = new Float32Array(capacity * wanted.length);
    this.timeMs = new Float64Array(capacity);
    this.lastAt = wanted.map((_, i) => i);
  }

  get full(): boolean {
    return this.rows >= this.capacity;
  }

  /** Adds the row, or says why it cannot be run: a feature missing, or present but not a number. */
  add(row: PredictionFeaturesView): SkipReason | undefined {
    const width = this.wanted.length;
    const at = this.rows * width;
    for (let j = 0; j < width; j++) {
      const name = this.wanted[j] as string;
      let k = this.lastAt[j] as number;
      if (k >= row.numericCount || row.numericKeys[k] !== name) {
        k = row.numericKeys.indexOf(name);
        if (k < 0 || k >= row.numericCount) return this.absent(row, name);
        this.lastAt[j] = k;
      }
      this.features[at + j] = row.numericValues[k] as number;
    }
    this.timeMs[this.rows] = row.timeMs;
    this.versions[this.rows] = row.modelVersion;
    this.ids[this.rows] = row.predictionId;
    this.rows++;
    return undefined;
  }

  /** Empties the batch for reuse (its arrays are overwritten by the next rows). */
  clear(): void {
    this.rows = 0;
    this.versions.length = 0;
    this.ids.length = 0;
  }

  private absent(row: PredictionFeaturesView, name: string): SkipReason {
    for (let i = 0; i < row.categoricalCount; i++) if (row.categoricalKeys[i] === name) return "wrong_type";
    return "missing_feature";
  }
}
