import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsNumber, IsOptional, IsString, Length, Max, Min } from 'class-validator';

export class DiagnosticSleepDto {
  @ApiProperty({ example: 2, description: 'How long to sleep; stops early at the soft time limit' })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(86_400)
  seconds: number;
}

export class DiagnosticCpuDto {
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

export class DiagnosticMemoryDto {
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

export class DiagnosticFailDto {
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

export class DiagnosticCrashDto {}
