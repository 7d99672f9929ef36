import { type MetricRow, metricRecord, type Store, StoreError, utcText } from "../store/index.js";
import { classBinCounts, withoutPredictedClass } from "./class-bins.js";
import { bandForSample, referenceBand, statusOf, worseSide } from "./math/index.js";
import { betterDirection, isSampleEstimate } from "./metric-names.js";
import { type AnalysisOptions, configKey } from "./options.js";
import { type BaselineRange, baselineOf, rangeScope } from "./reference.js";
import { metricValues, type StoredValue } from "./results.js";
import { queryRows, type Scope } from "./scope.js";
import { shadowMetrics } from "./shadow-metrics.js";
import { binCounts } from "./sql/bin-counts.js";
import { windowsChangedSince, windowsInRange } from "./sql/changed-windows.js";
import { type BinCount, PREDICTED_CLASS_KEY, type ReferenceBins } from "./sql/distributions.js";
import { numericLayouts } from "./sql/feature-layouts.js";
import { type LabelledJoin, labelledJoin } from "./sql/labelled.js";
import { referenceBins } from "./sql/reference-bins.js";
import { positiveClass, windowAuc } from "./sql/roc-auc.js";
import { type ScopeFacts, scopeFacts } from "./sql/scope-facts.js";
import { shadowWindows } from "./sql/shadow-cells.js";
import { type WindowCell, windowCells } from "./sql/window-cells.js";
import { type Counts, loadReference, type Reference, storeReference } from "./stored-references.js";
import { type KeyDistributions, metricRow, windowMetrics } from "./window-metrics.js";

/** Model versions computed at once. */
const CONCURRENT_VERSIONS = 2;

/** How long what a run learned of a baseline is trusted before it is read again. */
const RECHECK_MS = 3_600_000;

/** Which windows to (re)compute: event-time bounds and models; all when unset. */
export interface AnalyzeRequest {
  models?: readonly string[];
  fromMs?: number;
  toMs?: number;
}

export interface AnalysisReport {
  /** Model versions and windows computed, rows written. */
  versions: number;
  windows: number;
  rows: number;
  durationMs: number;
}

/**
 * Computes the metrics of windows and stores them in `metrics` (replacing what the windows had). Counts are
 * gathered in ClickHouse; only counts reach Node, where the math on them runs.
 */
export class Analyzer {
  /**
   * Bins and counts of each baseline, kept between runs: a baseline is the past and does not change unless
   * its own windows do (then withDependents recomputes everything of the version and drops the entry).
   * Each is stored too (analyzer_references): after a restart an incremental run reads it back, checked
   * against what arrived since, instead of reading the whole baseline again.
   */
  private readonly references = new Map<string, Reference>();

  /** Each version's baseline, looked up once per run. */
  private baselines = new Map<string, Promise<BaselineRange | undefined>>();

  /**
   * Baselines found, kept between runs and looked up again after RECHECK_MS (retention may drop a first
   * day) or when a run has data from before one: a version's first day is settled once it is over, and
   * looking it up is a statement per version and run.
   */
  private readonly knownBaselines = new Map<string, { range: BaselineRange; checkedAtMs: number }>();

  /**
   * The stored values of each baseline's windows, for derived thresholds (withReferenceStatus), kept
   * between runs like knownBaselines; a run recomputing baseline windows puts in the values it writes.
   */
  private readonly referenceValues = new Map<string, { values: StoredValue[]; checkedAtMs: number }>();

  constructor(
    private readonly store: Store,
    private readonly options: AnalysisOptions,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Recomputes every window in the request's range. */
  async analyze(request: AnalyzeRequest = {}): Promise<AnalysisReport> {
    const started = performance.now();
    const runAt = this.clock();
    // Asked to recompute: nothing learned of the baselines is taken on trust.
    this.references.clear();
    this.baselines.clear();
    this.knownBaselines.clear();
    this.referenceValues.clear();
    const scopes = await windowsInRange(this.store, this.options.windowMs, request, request.models ?? []);
    return this.compute(scopes, started, runAt, false);
  }

  /**
   * Computes the windows whose data changed since the last incremental run (all of them the first time),
   * and moves the watermark on. Late labels recompute exactly the windows of the predictions they label.
   */
  async analyzeChanges(): Promise<AnalysisReport> {
    const started = performance.now();
    const runAt = this.clock();
    this.baselines.clear();
    const watermark = await this.watermark();
    const since = watermark === undefined ? undefined : watermark - this.options.lateVisibilityMs;
    // The first run takes every window; later ones what changed and what depends on it.
    const scopes =
      since === undefined
        ? await windowsInRange(this.store, this.options.windowMs, {}, [])
        : await this.withDependents(await windowsChangedSince(this.store, this.options.windowMs, since, []));
    const report = await this.compute(scopes, started, runAt, true);
    await this.store.client.insert({
      table: `${this.store.database}.analyzer_state`,
      values: [{ config: configKey(this.options), watermark: utcText(runAt) }],
      format: "JSONEachRow",
    });
    return report;
  }

  private async watermark(): Promise<number | undefined> {
    const [row] = await queryRows<{ w: number }>(
      this.store,
      `SELECT toUnixTimestamp64Milli(watermark) AS w FROM ${this.store.database}.analyzer_state FINAL
       WHERE config = {config:String}`,
      { config: configKey(this.options) },
    );
    return row === undefined ? undefined : Number(row.w);
  }

  /**
   * Windows whose drift depends on a changed window: the next one when each window is compared with the one
   * before, every window of the version when the change falls in its baseline.
   */
  private async withDependents(scopes: Scope[]): Promise<Scope[]> {
    const { windowMs, reference } = this.options;
    const out: Scope[] = [];
    for (const scope of scopes) {
      if (reference.kind === "previous") {
        const next = scope.windowStartsMs.map((w) => w + windowMs);
        out.push({
          ...scope,
          windowStartsMs: [...new Set([...scope.windowStartsMs, ...next])].sort((a, b) => a - b),
        });
        continue;
      }
      const baseline = await this.baseline(scope);
      const touchesBaseline =
        baseline !== undefined &&
        scope.windowStartsMs.some((w) => w + windowMs > baseline.fromMs && w < baseline.toMs);
      if (!touchesBaseline) {
        out.push(scope);
        continue;
      }
      // The baseline's own data changed: its bins and counts are computed again, and every window with them.
      this.references.delete(referenceKey(scope, baseline));
      const all = await windowsInRange(this.store, windowMs, { modelVersion: scope.modelVersion }, [
        scope.model,
      ]);
      out.push(...all);
    }
    return out;
  }

  private baseline(scope: Scope): Promise<BaselineRange | undefined> {
    const key = `${scope.model}\u0000${scope.modelVersion}`;
    let found = this.baselines.get(key);
    if (found) return found;
    const now = this.clock();
    const known = this.knownBaselines.get(key);
    if (
      known &&
      now - known.checkedAtMs < RECHECK_MS &&
      !scope.windowStartsMs.some((w) => w < known.range.fromMs)
    )
      found = Promise.resolve(known.range);
    else {
      found = baselineOf(this.store, scope.model, scope.modelVersion, this.options.reference, now);
      void found.then(
        (range) => {
          if (range) this.knownBaselines.set(key, { range, checkedAtMs: now });
          else this.knownBaselines.delete(key);
        },
        () => this.knownBaselines.delete(key),
      );
    }
    this.baselines.set(key, found);
    return found;
  }

  /** The stored values of the baseline's windows for `metrics`, read once per RECHECK_MS (see referenceValues). */
  private async baselineValues(
    scope: Scope,
    baseline: BaselineRange,
    metrics: string[],
  ): Promise<StoredValue[]> {
    const key = referenceKey(scope, baseline);
    const now = this.clock();
    const known = this.referenceValues.get(key);
    if (known && now - known.checkedAtMs < RECHECK_MS) return known.values;
    const values = await metricValues(this.store, {
      model: scope.model,
      modelVersion: scope.modelVersion,
      metrics,
      fromMs: baseline.fromMs,
      toMs: baseline.toMs,
    });
    this.referenceValues.set(key, { values, checkedAtMs: now });
    return values;
  }

  /**
   * `runAt`: when the run started, reading the data; the version of the rows it writes (see replace).
   * `storedReferences`: whether a reference stored by an earlier run may be used (not when asked to recompute).
   */
  private async compute(
    scopes: Scope[],
    started: number,
    runAt: number,
    storedReferences: boolean,
  ): Promise<AnalysisReport> {
    let windows = 0;
    let rows = 0;
    const pending = scopes.filter((s) => s.windowStartsMs.length > 0);
    // Versions are independent: a few at once, so one's single-threaded steps (planning a statement,
    // the math in Node) overlap another's scans.
    const worker = async () => {
      for (let scope = pending.shift(); scope; scope = pending.shift()) {
        const computed = await this.withReferenceStatus(
          scope,
          await this.computeScope(scope, runAt, storedReferences),
        );
        try {
          await this.replace(scope, computed, runAt);
        } catch (err) {
          // Its baseline values, taken as written (withReferenceStatus), are not: read them again.
          this.referenceValues.clear();
          throw err;
        }
        windows += scope.windowStartsMs.length;
        rows += computed.length;
      }
    };
    // Every worker finishes before the run reports, a failure included: none is left writing behind it.
    const settled = await Promise.allSettled(Array.from({ length: CONCURRENT_VERSIONS }, worker));
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    return { versions: scopes.length, windows, rows, durationMs: performance.now() - started };
  }

  private async computeScope(scope: Scope, runAt: number, storedReferences: boolean): Promise<MetricRow[]> {
    const { windowMs, segments, thresholds } = this.options;
    const facts = await scopeFacts(this.store, scope, windowMs);
    const join = labelledJoin(facts);
    // The cells and the drift bins are counted at once (two statements, on two of the store's connections):
    // drift waits for the cells only to take the predicted classes' counts from them.
    const cellsRead = windowCells(this.store, scope, windowMs, join);
    const [cellsDone, driftDone] = await Promise.allSettled([
      cellsRead,
      this.drift(scope, facts, cellsRead, runAt, storedReferences),
    ]);
    // Both settle before either's failure is thrown: nothing of the scope is left running behind the run.
    if (cellsDone.status === "rejected") throw cellsDone.reason;
    if (driftDone.status === "rejected") throw driftDone.reason;
    const allTraffic = cellsDone.value;
    const drift = driftDone.value;
    const rows: MetricRow[] = [];
    for (const segmentKey of [undefined, ...segments]) {
      const cells =
        segmentKey === undefined
          ? allTraffic
          : await windowCells(this.store, scope, windowMs, join, segmentKey);
      if (segmentKey === undefined) rows.push(...(await this.rocAuc(scope, cells, join)));
      const groups = new Map<string, typeof cells>();
      for (const c of cells) {
        const id = `${c.windowStartMs}\u0000${c.segment}`;
        const group = groups.get(id);
        if (group) group.push(c);
        else groups.set(id, [c]);
      }
      for (const group of groups.values()) {
        const first = group[0];
        if (!first) continue;
        const at = {
          model: scope.model,
          modelVersion: scope.modelVersion,
          segment: first.segment,
          windowStartMs: first.windowStartMs,
          windowMs,
        };
        // Drift is measured on all traffic; segments break down the quality metrics.
        const d = segmentKey === undefined ? drift?.of(first.windowStartMs) : undefined;
        rows.push(...windowMetrics(at, group, d, thresholds));
      }
    }
    // Candidates are compared on all traffic, here with the scope's other rows: replace() keeps only what
    // this computes for the scope's windows.
    const shadow = facts.shadowed ? await shadowWindows(this.store, scope, windowMs, join) : [];
    for (const w of shadow) {
      const at = {
        model: scope.model,
        modelVersion: scope.modelVersion,
        segment: "",
        windowStartMs: w.windowStartMs,
        windowMs,
      };
      rows.push(...shadowMetrics(at, w, thresholds));
    }
    return rows;
  }

  /**
   * Statuses from the reference: for each metric whose rule has `referenceK`, the band mean ± k·sd of its
   * values over the baseline's windows (those stored, overridden by those just computed), as NannyML
   * derives thresholds, widened for a window of fewer samples than the baseline's windows had (their
   * median; bandForSample). No baseline yet (or `previous` windows as reference): static bands only.
   */
  private async withReferenceStatus(scope: Scope, rows: MetricRow[]): Promise<MetricRow[]> {
    const { thresholds, reference, windowMs } = this.options;
    const derived = Object.keys(thresholds).filter((m) => thresholds[m]?.referenceK !== undefined);
    if (derived.length === 0 || reference.kind === "previous") return rows;
    const baseline = await this.baseline(scope);
    if (!baseline) return rows;
    const id = (r: { segment: string; metric: string; subject: string }) =>
      `${r.segment}\u0000${r.metric}\u0000${r.subject}`;
    const inBaseline = (w: number) => w >= baseline.fromMs && w + windowMs <= baseline.toMs;
    const recomputed = new Set(scope.windowStartsMs.filter(inBaseline));
    const stored = await this.baselineValues(scope, baseline, derived);
    // The baseline's values as this run leaves them: those of the windows it recomputes are its own.
    const current: StoredValue[] = [
      ...stored.filter((v) => !recomputed.has(v.windowStartMs)),
      ...rows.filter((r) => derived.includes(r.metric) && recomputed.has(r.windowStartMs)),
    ].map(({ segment, metric, subject, windowStartMs, value, sampleSize }) => ({
      segment,
      metric,
      subject,
      windowStartMs,
      value,
      sampleSize,
    }));
    if (recomputed.size > 0)
      this.referenceValues.set(referenceKey(scope, baseline), { values: current, checkedAtMs: this.clock() });
    // One value per window and identity: stored ones are distinct (FINAL), recomputed ones replace theirs.
    const byId = new Map<string, StoredValue[]>();
    for (const v of current) {
      const list = byId.get(id(v));
      if (list) list.push(v);
      else byId.set(id(v), [v]);
    }
    return rows.map((r) => {
      const rule = thresholds[r.metric];
      if (rule?.referenceK === undefined) return r;
      const ref = byId.get(id(r)) ?? [];
      const band = referenceBand(
        ref.map((v) => v.value),
        rule.referenceK,
      );
      const sized = isSampleEstimate(r.metric)
        ? bandForSample(
            band,
            ref.map((v) => v.sampleSize),
            r.sampleSize,
          )
        : band;
      return { ...r, status: statusOf(r.value, rule, worseSide(sized, betterDirection(r.metric))) };
    });
  }

  /** ROC AUC rows when the version is a binary classifier (two classes across the scope) with scores. */
  private async rocAuc(scope: Scope, cells: readonly WindowCell[], join: LabelledJoin): Promise<MetricRow[]> {
    const classes = new Set<string>();
    for (const c of cells) {
      if (c.predicted !== "") classes.add(c.predicted);
      if (c.hasLabel && c.actual !== "") classes.add(c.actual);
    }
    const positive = positiveClass([...classes]);
    if (positive === undefined) return [];
    const { windowMs, thresholds } = this.options;
    return (await windowAuc(this.store, scope, windowMs, positive, join)).map((w) =>
      metricRow(
        {
          model: scope.model,
          modelVersion: scope.modelVersion,
          segment: "",
          windowStartMs: w.windowStartMs,
          windowMs,
        },
        "roc_auc",
        positive,
        w.auc,
        w.positives + w.negatives,
        "",
        thresholds,
      ),
    );
  }

  /**
   * Bin counts of each window and of its reference, or undefined when there is no reference yet.
   * `cellsRead`: the scope's window cells of all traffic, which count its predicted classes, being read
   * meanwhile (awaited only once the bins are counted). A baseline's reference is
   * stored as of `runAt`; `storedReferences`: whether one stored earlier may be read back.
   */
  private async drift(
    scope: Scope,
    facts: ScopeFacts,
    cellsRead: Promise<readonly WindowCell[]>,
    runAt: number,
    storedReferences: boolean,
  ): Promise<
    { of(windowStartMs: number): { reference: string; distributions: KeyDistributions[] } } | undefined
  > {
    const { windowMs, reference, categoricalTopN } = this.options;
    if (reference.kind === "previous") {
      // Each window has its own reference, so its own bins: one pass per window and its predecessor.
      const byStart = new Map<number, KeyDistributions[]>();
      for (const w of scope.windowStartsMs) {
        const pair = { ...scope, windowStartsMs: [w - windowMs, w] };
        const previous = { ...scope, windowStartsMs: [w - windowMs] };
        const layouts = await numericLayouts(this.store, pair, windowMs);
        const bins = await referenceBins(this.store, previous, windowMs, categoricalTopN, layouts);
        const counts = byWindow(await binCounts(this.store, pair, windowMs, bins, layouts));
        byStart.set(
          w,
          align(counts.get(w), counts.get(w - windowMs), (key) => binsOf(bins, key)),
        );
      }
      return { of: (w) => ({ reference: "previous window", distributions: byStart.get(w) ?? [] }) };
    }
    const baseline = await this.baseline(scope);
    if (!baseline) return undefined;
    const refScope = rangeScope(scope.model, scope.modelVersion, baseline, windowMs);
    const cacheKey = referenceKey(scope, baseline);
    const address = { config: configKey(this.options), scope, baseline };
    let ref = this.references.get(cacheKey);
    if (!ref && storedReferences) {
      ref = await loadReference(this.store, address, this.options.lateVisibilityMs);
      if (ref) this.references.set(cacheKey, ref);
    }
    const inBaseline = (w: number) => w + windowMs > baseline.fromMs && w < baseline.toMs;
    let current: Map<number, Counts>;
    // The predicted classes of the scope's own windows are counted by the cells already.
    const scopeCounts = async (bins: ReferenceBins, layouts: ScopeFacts["layouts"]) => {
      const top = bins.top.get(PREDICTED_CLASS_KEY);
      if (top === undefined) return binCounts(this.store, scope, windowMs, bins, layouts);
      const rest = await binCounts(this.store, scope, windowMs, withoutPredictedClass(bins), layouts);
      return [...rest, ...classBinCounts(await cellsRead, top)];
    };
    if (ref) {
      current = byWindow(await scopeCounts(ref.bins, facts.layouts));
    } else {
      // One pass over the windows asked for and the baseline's: they often overlap (the first day).
      const union = [...new Set([...scope.windowStartsMs, ...refScope.windowStartsMs])].sort((a, b) => a - b);
      const both = { ...scope, windowStartsMs: union };
      // The orderings of the scope and the baseline together serve both: a first run's scope holds the baseline.
      const scopeHoldsBaseline = union.length === scope.windowStartsMs.length;
      const layouts = scopeHoldsBaseline ? facts.layouts : await numericLayouts(this.store, both, windowMs);
      const bins = await referenceBins(this.store, refScope, windowMs, categoricalTopN, layouts);
      const counts = scopeHoldsBaseline
        ? await scopeCounts(bins, layouts)
        : await binCounts(this.store, both, windowMs, bins, layouts);
      ref = { bins, counts: byKey(counts.filter((c) => inBaseline(c.windowStartMs))) };
      this.references.set(cacheKey, ref);
      await storeReference(this.store, address, ref, runAt);
      current = byWindow(counts);
    }
    const { bins, counts } = ref;
    return {
      of: (w) => ({
        reference: baseline.label,
        distributions: align(current.get(w), counts, (key) => binsOf(bins, key)),
      }),
    };
  }

  /**
   * Deletes the scope's earlier rows, then writes the new ones, versioned by the run's start: where two runs
   * overlap (two services, or `modelwatch analyze` beside one), the run that read the newer data wins
   * whichever writes last, and neither deletes what a run started after it wrote. A value only an older run
   * still had (a class relabelled away meanwhile) can outlive it until the window is computed again, which
   * the next incremental run does: the older run's watermark, written last, is before the change.
   */
  private async replace(scope: Scope, rows: MetricRow[], runAt: number): Promise<void> {
    const db = this.store.database;
    try {
      // New rows replace old ones of the same identity (ReplacingMergeTree); only rows that no longer exist
      // (a class relabelled away) need deleting, which is rare, and a delete costs more than the rest.
      const params = {
        model: scope.model,
        version: scope.modelVersion,
        windows: scope.windowStartsMs,
        run_ms: runAt,
      };
      const older = "computed_at < fromUnixTimestamp64Milli({run_ms:Int64}, 'UTC')";
      const fresh = new Set(rows.map(rowIdentity));
      const stored = await queryRows<{ ws: number; segment: string; metric: string; subject: string }>(
        this.store,
        `SELECT DISTINCT toUnixTimestamp64Milli(window_start) AS ws, segment, metric, subject FROM ${db}.metrics
         WHERE model = {model:String} AND model_version = {version:String}
           AND has({windows:Array(Int64)}, toUnixTimestamp64Milli(window_start)) AND ${older}`,
        params,
      );
      if (stored.some((r) => !fresh.has(rowIdentity({ ...r, windowStartMs: Number(r.ws) }))))
        await this.store.client.command({
          query: `DELETE FROM ${this.store.mutationTarget("metrics")} WHERE model = {model:String} AND model_version = {version:String}
                  AND has({windows:Array(Int64)}, toUnixTimestamp64Milli(window_start)) AND ${older}`,
          query_params: params,
        });
      if (rows.length > 0)
        await this.store.client.insert({
          table: `${db}.metrics`,
          values: rows.map((r) => metricRecord(r, runAt)),
          format: "JSONEachRow",
        });
    } catch (cause) {
      throw StoreError.from(
        "INSERT",
        `cannot store the metrics of ${scope.model} ${scope.modelVersion}`,
        cause,
      );
    }
  }
}

/** A metrics row's identity within one model version: what a recomputation replaces. */
function rowIdentity(r: { windowStartMs: number; segment: string; metric: string; subject: string }): string {
  return `${r.windowStartMs}\u0000${r.segment}\u0000${r.metric}\u0000${r.subject}`;
}

function referenceKey(scope: Scope, baseline: BaselineRange): string {
  return `${scope.model}\u0000${scope.modelVersion}\u0000${baseline.label}`;
}

function byKey(counts: readonly BinCount[]): Counts {
  const m: Counts = new Map();
  for (const c of counts) {
    const bins = m.get(c.key) ?? new Map<number, number>();
    bins.set(c.bin, (bins.get(c.bin) ?? 0) + c.count);
    m.set(c.key, bins);
  }
  return m;
}

function byWindow(counts: readonly BinCount[]): Map<number, Counts> {
  const grouped = new Map<number, BinCount[]>();
  for (const c of counts) {
    const list = grouped.get(c.windowStartMs) ?? [];
    list.push(c);
    grouped.set(c.windowStartMs, list);
  }
  return new Map([...grouped].map(([w, list]) => [w, byKey(list)]));
}

/** How many bins a key has: numeric edges + 1, or categorical top values + "other". */
function binsOf(bins: ReferenceBins, key: string): number | undefined {
  const edges = bins.edges.get(key);
  if (edges) return edges.length + 1;
  const top = bins.top.get(key);
  return top ? top.length + 1 : undefined;
}

/** Both sides as count vectors over the same bins, for each key the window has values of. */
function align(
  current: Counts | undefined,
  reference: Counts | undefined,
  binCount: (key: string) => number | undefined,
): KeyDistributions[] {
  const out: KeyDistributions[] = [];
  for (const [key, bins] of current ?? []) {
    const n = binCount(key);
    const ref = reference?.get(key);
    if (n === undefined || !ref) continue;
    const vector = (m: Map<number, number>) => Array.from({ length: n }, (_, i) => m.get(i) ?? 0);
    out.push({ key, current: vector(bins), reference: vector(ref) });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : 1));
}
