/**
 * The payloads of the diagnostic tasks as their handlers read them, once diagnostic.schema.ts has
 * accepted them: these types follow those schemas.
 */

export interface DiagnosticRunLogDto {
  /** An existing absolute directory on the worker host (RUN_LOG_DIR_PATTERN). */
  run_log?: string;
}

export interface DiagnosticSleepDto extends DiagnosticRunLogDto {
  seconds: number;
  /** 1 to 100; absent: no progress reports. */
  progress_steps?: number;
}

export interface DiagnosticCpuDto extends DiagnosticRunLogDto {
  seconds: number;
  /** Default true. */
  ignore_signals?: boolean;
}

export interface DiagnosticMemoryDto extends DiagnosticRunLogDto {
  mb: number;
  hold_seconds?: number;
}

export interface DiagnosticFailDto extends DiagnosticRunLogDto {
  message?: string;
  retryable?: boolean;
}

export type DiagnosticCrashDto = DiagnosticRunLogDto;
