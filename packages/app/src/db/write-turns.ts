/**
 * Turn-taking hints shared, through memory, by the connections of one process to one SQLite file
 * (the HTTP thread's and the worker thread's). SQLite's own lock stays the only lock; this only
 * decides who tries when: a connection refused the lock (SQLITE_BUSY) says it is waiting and sleeps
 * until the holder releases it (woken at once, not after a poll), and a holder that sees someone
 * waiting (a receipt batch on the HTTP thread) commits early. Handing over at every chance costs:
 * letting a waiting connection go first before each BEGIN, or ending the worker's event group
 * early, lowered throughput and raised latency (measured), so neither is done.
 */
export class WriteTurns {
  private readonly cells: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.cells = new Int32Array(buffer);
  }

  /** Bumped whenever a connection lets go of the write lock. */
  generation(): number {
    return Atomics.load(this.cells, 0);
  }

  released(): void {
    Atomics.add(this.cells, 0, 1);
    Atomics.notify(this.cells, 0);
  }

  waiting(): number {
    return Atomics.load(this.cells, 1);
  }

  enter(): void {
    Atomics.add(this.cells, 1, 1);
  }

  leave(): void {
    Atomics.sub(this.cells, 1, 1);
  }

  /** Resolves when the lock is let go after `seen`, or after `ms`, without blocking the thread. */
  async next(seen: number, ms: number): Promise<void> {
    const r = (Atomics as unknown as AtomicsWaitAsync).waitAsync(this.cells, 0, seen, ms);
    if (!r.async) return;
    // a pending waitAsync does not keep the event loop alive (a process whose only other
    // connection is the checkpointer's thread would exit mid-wait); this timer does
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([r.value, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }
}

interface AtomicsWaitAsync {
  waitAsync(
    a: Int32Array,
    index: number,
    value: number,
    timeout: number,
  ): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
}
