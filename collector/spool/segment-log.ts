import { randomBytes } from "node:crypto";
import { type FileHandle, mkdir, open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { encodeFrame, type Frame } from "./frame.js";
import { syncDirectory } from "./sync-directory.js";

/** A segment no longer written to, waiting to be replayed into the store. */
export interface SealedSegment {
  /** File name: a sequence number (segments replay in its order) and a random suffix. */
  name: string;
  path: string;
  /** Bytes written and acknowledged (a failed write's partial bytes lie past this and are ignored). */
  bytes: number;
  /**
   * Set on the oldest segment found at start, which an earlier run may have been storing when it died (the
   * replayer stores one segment at a time, oldest first, and deletes each once stored, durably): the
   * earliest such an attempt could have started, the file's last write (a segment is replayed once sealed).
   */
  earlierAttemptAtMs?: number;
}

interface OpenSegment {
  name: string;
  path: string;
  file: FileHandle;
  bytes: number;
  records: number;
}

interface Group {
  chunks: Buffer[];
  bytes: number;
  records: number;
  waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
}

const SEGMENT = /^\d{12}-[0-9a-f]{8}\.seg$/;

/**
 * The spool's files: an append-only log cut into segments. Appends are group-committed: whatever arrives
 * while one write + fdatasync is in flight goes out in the next, so a busy service pays one fsync for many
 * requests. An append resolves only once its bytes are on disk.
 */
export class SegmentLog {
  private current: OpenSegment | undefined;
  private group: Group = emptyGroup();
  private running: Promise<void> | undefined;
  /** Callers of seal() waiting for the segment open at their call to be closed. */
  private sealWaiters: Array<() => void> = [];

  private constructor(
    private readonly dir: string,
    private nextSeq: number,
    private readonly onSealed: (segment: SealedSegment) => void,
  ) {}

  /**
   * Opens (creating) the directory; segments left by an earlier run are returned oldest first. Only the
   * oldest may be partly stored: checking the others too would make each look through all that the ones
   * before it stored, a cost growing with the square of a backlog.
   */
  static async open(
    dir: string,
    onSealed: (segment: SealedSegment) => void,
  ): Promise<{ log: SegmentLog; found: SealedSegment[] }> {
    await mkdir(dir, { recursive: true });
    const names = (await readdir(dir)).filter((n) => SEGMENT.test(n)).sort();
    const found: SealedSegment[] = [];
    for (const name of names) {
      const path = join(dir, name);
      const { size, mtimeMs } = await stat(path);
      found.push(
        found.length === 0
          ? { name, path, bytes: size, earlierAttemptAtMs: mtimeMs }
          : { name, path, bytes: size },
      );
    }
    const last = names[names.length - 1];
    const nextSeq = last === undefined ? 1 : Number(last.slice(0, 12)) + 1;
    return { log: new SegmentLog(dir, nextSeq, onSealed), found };
  }

  /** Bytes in the segment being written plus those waiting for the next commit. */
  get openBytes(): number {
    return (this.current?.bytes ?? 0) + this.group.bytes;
  }

  /** Records in the segment being written (committed ones only). */
  get openRecords(): number {
    return this.current?.records ?? 0;
  }

  /** Resolves once the frames are durable; rejects when the disk refused them. */
  append(frames: readonly Frame[]): Promise<void> {
    return new Promise((resolve, reject) => {
      for (const frame of frames) {
        const [header, payload] = encodeFrame(frame);
        this.group.chunks.push(header, payload);
        this.group.bytes += header.length + payload.length;
        this.group.records += frame.records;
      }
      this.group.waiters.push({ resolve, reject });
      this.kick();
    });
  }

  /** Closes the segment being written after the commits already queued; the next append opens another. */
  seal(): Promise<void> {
    return new Promise((resolve) => {
      this.sealWaiters.push(resolve);
      this.kick();
    });
  }

  private kick(): void {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      if (this.group.waiters.length > 0 || this.sealWaiters.length > 0) this.kick();
    });
  }

  private async run(): Promise<void> {
    // Let the requests decoded in this turn of the event loop join the first commit.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.group.waiters.length > 0 || this.sealWaiters.length > 0) {
      if (this.group.waiters.length > 0) await this.commit(this.takeGroup());
      if (this.sealWaiters.length > 0) {
        const waiters = this.sealWaiters.splice(0);
        // Appends queued before the seal was asked for go into this segment; later ones into the next, so a
        // steady stream of appends never holds a seal back.
        if (this.group.waiters.length > 0) await this.commit(this.takeGroup());
        await this.closeCurrent().catch(() => {});
        for (const resolve of waiters) resolve();
      }
    }
  }

  private takeGroup(): Group {
    const group = this.group;
    this.group = emptyGroup();
    return group;
  }

  private async commit(group: Group): Promise<void> {
    let segment: OpenSegment | undefined;
    try {
      segment = this.current ?? (await this.openSegment());
      const { bytesWritten } = await segment.file.writev(group.chunks);
      if (bytesWritten !== group.bytes)
        throw new Error(`short write: ${bytesWritten} of ${group.bytes} bytes`);
      await segment.file.datasync();
    } catch (err) {
      for (const w of group.waiters) w.reject(err);
      // Never append after a failed write: the bytes past the last good frame are unknown. The segment is
      // sealed at its acknowledged length and the next append starts a fresh one.
      await this.closeCurrent().catch(() => {});
      return;
    }
    segment.bytes += group.bytes;
    segment.records += group.records;
    for (const w of group.waiters) w.resolve();
  }

  private async openSegment(): Promise<OpenSegment> {
    const name = `${String(this.nextSeq++).padStart(12, "0")}-${randomBytes(4).toString("hex")}.seg`;
    const path = join(this.dir, name);
    const file = await open(path, "wx");
    // The new file's directory entry must survive a crash as surely as its contents.
    await syncDirectory(this.dir);
    this.current = { name, path, file, bytes: 0, records: 0 };
    return this.current;
  }

  private async closeCurrent(): Promise<void> {
    const segment = this.current;
    if (!segment) return;
    this.current = undefined;
    await segment.file.close().catch(() => {});
    if (segment.bytes === 0) {
      await unlink(segment.path).catch(() => {});
      return;
    }
    this.onSealed({ name: segment.name, path: segment.path, bytes: segment.bytes });
  }
}

function emptyGroup(): Group {
  return { chunks: [], bytes: 0, records: 0, waiters: [] };
}
