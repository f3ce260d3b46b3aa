import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsNumber, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

/**
 * An absolute directory path without `.` or `..` segments, empty segments or control characters.
 * Only the directory is the caller's: the record's file name is the handler's.
 */
export const RUN_LOG_DIR_PATTERN = /^(?:\/(?!\.\.?(?:\/|$))[^\/\x00-\x1f\x7f]+)+\/?$/;

/**
 * Every diagnostic task may ask for a per-run record, so that a soak test can count how often its
 * handler really finished, independently of what Sluice accepted (see docs/RELIABILITY.md).
 */
export class DiagnosticRunLogDto {
  @ApiPropertyOptional({
    example: '/var/tmp/sluice-chaos/runs',
    description:
      'An existing absolute directory on the worker host. Each run that finishes its work appends one line ' +
      '`<task_id> <attempt> <pid> <started_ms> <ended_ms> <outcome>` (outcome ok, error or crash) to `runs-<pid>.log` ' +
      'there before it returns, and a successful result then carries `run: {attempt, pid, started_at, ended_at}`. ' +
      'A run killed before it finishes writes nothing. Diagnostic tasks are for operators: this writes files on the worker.',
  })
  @IsOptional()
  @IsString()
  @Length(2, 1024)
  @Matches(RUN_LOG_DIR_PATTERN, { message: 'run_log must be an absolute directory path without . or .. segments' })
  run_log?: string;
}

export class DiagnosticSleepDto extends DiagnosticRunLogDto {
  @ApiProperty({ example: 2, description: 'How long to sleep; stops early at the soft time limit' })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(86_400)
  seconds: number;
}

export class DiagnosticCpuDto extends DiagnosticRunLogDto {
  @ApiProperty({ example: 2, description: 'How long to busy-loop' })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(86_400)
  seconds: number;

  @ApiPropertyOptional({
    default: true,
    description: 'Ignore SIGTERM, SIGINT and SIGHUP, as a runaway task would; false leaves their default action (terminate)',
  })
  @IsOptional()
  @IsBoolean()
  ignore_signals?: boolean;
}

export class DiagnosticMemoryDto extends DiagnosticRunLogDto {
  @ApiProperty({ example: 256, description: 'MiB of memory to allocate and touch' })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(1)
  @Max(65_536)
  mb: number;

  @ApiPropertyOptional({ example: 1, description: 'How long to hold the memory' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(86_400)
  hold_seconds?: number;
}

export class DiagnosticFailDto extends DiagnosticRunLogDto {
  @ApiPropertyOptional({ example: 'boom' })
  @IsOptional()
  @IsString()
  @Length(0, 1000)
  message?: string;

  @ApiPropertyOptional({ example: false, description: 'false throws NonRetryableTaskError, which fails the task at once' })
  @IsOptional()
  @IsBoolean()
  retryable?: boolean;
}

export class DiagnosticCrashDto extends DiagnosticRunLogDto {}
