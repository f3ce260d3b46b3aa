/** The soft time limit and progress, as the solver sees them: counted work, whole percentages. */
export interface GatherContext {
  softLimitHit(): boolean;
  progress(pct: number, message?: string): void;
}

/** Inner-loop steps between two soft-limit checks: frequent enough to stop within milliseconds. */
const SOFT_LIMIT_EVERY = 256;

export class Budget {
  iterations = 0;
  stopped = false;
  private lastPct = -1;

  constructor(private readonly ctx: GatherContext) {}

  /** Counts one unit of work; true once the soft limit has been hit. */
  tick(): boolean {
    this.iterations++;
    if ((this.iterations & (SOFT_LIMIT_EVERY - 1)) === 0 && !this.stopped && this.ctx.softLimitHit()) this.stopped = true;
    return this.stopped;
  }

  /** Phase boundaries check unconditionally, so even tiny inputs honour the limit. */
  checkpoint(): boolean {
    if (!this.stopped && this.ctx.softLimitHit()) this.stopped = true;
    return this.stopped;
  }

  /** Forwards whole percentages only, so callers may report from inner loops. */
  progress(pct: number, message: string): void {
    const p = Math.max(0, Math.min(100, Math.floor(pct)));
    if (p <= this.lastPct) return;
    this.lastPct = p;
    this.ctx.progress(p, message);
  }

  span(from: number, to: number, done: number, total: number, message: string): void {
    this.progress(from + ((to - from) * done) / Math.max(1, total), message);
  }
}
