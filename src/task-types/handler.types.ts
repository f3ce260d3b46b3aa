/** Fields of a log event a handler writes (see STYLE.md: the same event, the same keys). */
export type LogFields = Record<string, string | number | boolean | null>;

/** Writes to the parent's log. Never pass a payload: it may hold personal data. */
export interface TaskLogger {
  log(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface TaskContext {
  readonly taskId: string;
  /** 1 for the first run, 2 for the first retry, ... */
  readonly attempt: number;
  /** Aborted with a SoftTimeLimitExceeded reason at the soft limit, if the event loop gets a turn. */
  readonly signal: AbortSignal;
  /** Synchronous and cheap: a busy loop can poll it without yielding to the event loop. */
  softLimitHit(): boolean;
  /** 0..100; throttled before it crosses to the parent. */
  progress(pct: number, message?: string): void;
  readonly logger: TaskLogger;
}

/** Runs in a child process. The payload was validated by the API; the result must be JSON-serialisable. */
export interface TaskHandler<P = unknown, R = unknown> {
  run(payload: P, ctx: TaskContext): R | Promise<R>;
}
