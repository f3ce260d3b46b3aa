import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ValidatedInRoute } from '../../app/validation-pipe';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsNumber, IsObject, IsOptional, IsPositive, IsString, Length, Matches, Max, Min, ValidateNested } from 'class-validator';

/** BullMQ's priority range: 1 is the highest, 2^21 the lowest. */
export const MAX_PRIORITY = 2_097_152;

export class SubmitTaskOptionsDto {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PRIORITY, description: 'BullMQ priority: 1 is the highest' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PRIORITY)
  priority?: number;

  @ApiPropertyOptional({ minimum: 0, example: 30, description: 'Hold the task back this many seconds' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(365 * 24 * 3600)
  delay_seconds?: number;

  @ApiPropertyOptional({ minimum: 0, exclusiveMinimum: true, example: 120, description: "Hard time limit in seconds, at most the task type's (TASK_TIME_LIMIT); the child is killed when it passes" })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  time_limit?: number;

  @ApiPropertyOptional({ minimum: 0, exclusiveMinimum: true, example: 100, description: "Soft time limit in seconds, at most the task type's and at most time_limit; the task is warned" })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  soft_time_limit?: number;

  @ApiPropertyOptional({ minimum: 0, example: 1, description: "Retries after a failed run, at most the task type's (TASK_MAX_RETRIES)" })
  @IsOptional()
  @IsInt()
  @Min(0)
  max_retries?: number;

  @ApiPropertyOptional({
    maxLength: 2048,
    format: 'uri',
    example: 'https://hooks.example.com/sluice',
    description: 'POSTed the task, as GET shows it, once it is final; the host must be in CALLBACK_ALLOWED_HOSTS. Signed with CALLBACK_SECRET (X-Sluice-Signature)',
  })
  @IsOptional()
  @IsString()
  @Length(1, 2048)
  callback_url?: string;

  @ApiPropertyOptional({ maxLength: 256, description: 'Submitting the same key again returns the existing task' })
  @IsOptional()
  @IsString()
  @Length(1, 256)
  @Matches(/^[\x21-\x7e]+$/, { message: 'idempotency_key must be printable ASCII without spaces' })
  idempotency_key?: string;
}

/** Validated by SubmitTaskPipe, which keeps the payload away from class-transformer and class-validator. */
@ValidatedInRoute()
export class SubmitTaskDto {
  @ApiProperty({ example: 'automated_gather_creation' })
  @IsString()
  @Length(1, 128)
  task_name: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: "The task type's payload, validated against the schema of its task_name",
    example: {
      participants: [
        { id: 'u1', location: { lat: 52.37, lon: 4.89 }, availability: ['sat-18'], interests: ['chess'] },
      ],
      group_size: { min: 2, max: 8 },
      max_distance_km: 10,
    },
  })
  @IsOptional()
  @IsObject()
  payload?: Record<string, unknown>;

  @ApiPropertyOptional({ type: SubmitTaskOptionsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => SubmitTaskOptionsDto)
  options?: SubmitTaskOptionsDto;
}

export const MAX_BATCH = 1000;

/**
 * Validated by SubmitBatchPipe: here only as a list of 1 to MAX_BATCH objects; each item is then
 * validated on its own, so one bad item gets its own 422 instead of failing the batch.
 */
export class SubmitBatchDto {
  @ApiProperty({ type: [SubmitTaskDto], minItems: 1, maxItems: MAX_BATCH })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH)
  @IsObject({ each: true })
  tasks: SubmitTaskDto[];
}
