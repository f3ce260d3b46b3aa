import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsIn,
  IsISO8601,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  Validate,
  ValidateIf,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import { CANCELLABLE_STATUSES, CancellableStatus, MAX_BULK_CANCEL } from '../../tasks/operator/bulk-cancel.service';

const FILTER_FIELDS = ['task_name', 'status', 'submitted_before'] as const;
const hasFilter = (o: BulkCancelDto): boolean => FILTER_FIELDS.some((f) => o[f] != null);

/** A filter field, `limit` or `cursor` next to `task_ids`. */
@ValidatorConstraint({ name: 'notWithTaskIds' })
class NotWithTaskIds implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    return (args.object as BulkCancelDto).task_ids === undefined;
  }
  defaultMessage(): string {
    return 'cannot be combined with task_ids: give task_ids, or a filter';
  }
}

@ValidatorConstraint({ name: 'taskIdList' })
class TaskIdList implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return Array.isArray(value) && value.length >= 1 && value.length <= MAX_BULK_CANCEL && value.every((v) => typeof v === 'string' && v.length >= 1 && v.length <= 128);
  }
  defaultMessage(args: ValidationArguments): string {
    const v = args.value as unknown;
    if (v === undefined) return `is required unless a filter is given (${FILTER_FIELDS.join(', ')})`;
    if (!Array.isArray(v)) return 'must be a list of task ids';
    if (v.length < 1 || v.length > MAX_BULK_CANCEL) return `must hold 1 to ${MAX_BULK_CANCEL} task ids`;
    return 'must hold task ids only (strings of 1 to 128 characters)';
  }
}

/**
 * A time that Date.parse reads. IsISO8601 also accepts ISO 8601's week and ordinal dates, its basic
 * format and decimal commas (2009-W01-1, 2009-123, 20090519), which Date.parse reads as NaN, and a
 * NaN bound would reach the list script's ZRANGEBYSCORE.
 */
@ValidatorConstraint({ name: 'readableTime' })
class ReadableTime implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && Number.isFinite(Date.parse(value));
  }
  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be a calendar date and time such as 2024-01-01T00:00:00Z (week dates, ordinal dates and the basic format are not read)`;
  }
}

export class BulkCancelDto {
  @ApiPropertyOptional({ type: [String], maxItems: MAX_BULK_CANCEL, description: 'Tasks to cancel by id; not with a filter. Unknown ids count as not_found' })
  @ValidateIf((o: BulkCancelDto) => o.task_ids !== undefined || !hasFilter(o))
  @Validate(TaskIdList)
  task_ids?: string[];

  @ApiPropertyOptional({ example: 'automated_gather_creation' })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Validate(NotWithTaskIds)
  task_name?: string;

  @ApiPropertyOptional({ enum: CANCELLABLE_STATUSES, description: 'Default: all three' })
  @IsOptional()
  @IsIn(CANCELLABLE_STATUSES)
  @Validate(NotWithTaskIds)
  status?: CancellableStatus;

  @ApiPropertyOptional({ format: 'date-time', description: 'Only tasks submitted before this time' })
  @IsOptional()
  @IsISO8601({ strict: true })
  @Validate(ReadableTime)
  @Validate(NotWithTaskIds)
  submitted_before?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_BULK_CANCEL, default: MAX_BULK_CANCEL, description: 'Filter only: most tasks this call selects' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_BULK_CANCEL)
  @Validate(NotWithTaskIds)
  limit?: number;

  @ApiPropertyOptional({ description: 'Filter only: next_cursor from the previous call, with the same filter' })
  @IsOptional()
  @Matches(/^\d{1,16}$/, { message: 'cursor must be a next_cursor returned by this endpoint' })
  @Validate(NotWithTaskIds)
  cursor?: string;
}

export class BulkCancelResultDto {
  @ApiProperty({ description: 'Waiting (pending or retrying) tasks taken out of the queue' }) cancelled: number;
  @ApiProperty({ description: 'Running tasks whose workers were told to terminate them, as DELETE does; poll GET for the outcome' })
  termination_requested: number;
  @ApiProperty({ description: 'Already completed, failed or cancelled' }) already_final: number;
  @ApiProperty({ description: 'Unknown, malformed or expired ids' }) not_found: number;
  @ApiProperty({ nullable: true, type: String, description: 'Filter only: pass it as cursor, with the same filter, for the rest; null when nothing is left' })
  next_cursor: string | null;
}

export class QueueStateDto {
  @ApiProperty({ example: 'cpu_intensive' }) queue: string;
  @ApiProperty() paused: boolean;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) paused_at: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'The label of the key that paused it' }) paused_by: string | null;
}
