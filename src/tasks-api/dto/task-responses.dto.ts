import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { TASK_STATUSES, TaskStatus } from '../../tasks/task-status';
import { AttemptSeriesDto } from './attempt-history.dto';

export class ErrorResponseDto {
  @ApiProperty({ example: 'Task not found' })
  detail: string;
}

export class TaskSubmittedDto {
  @ApiProperty({ format: 'uuid' }) task_id: string;
  @ApiProperty() task_name: string;
  @ApiProperty({ enum: TASK_STATUSES, example: 'pending' }) status: TaskStatus;
  @ApiProperty({ example: 'cpu_intensive' }) queue: string;
  @ApiProperty({ format: 'date-time' }) submitted_at: string;
}

export class TaskErrorDto {
  @ApiProperty({ example: 'TimeLimitExceeded' }) type: string;
  @ApiProperty() message: string;
}

export class TaskCallbackDto {
  @ApiProperty({ enum: ['waiting', 'pending', 'delivered', 'failed'], description: 'waiting until the task is final; pending while due or being delivered' })
  status: 'waiting' | 'pending' | 'delivered' | 'failed';
  @ApiProperty({ description: 'Delivery attempts so far' }) attempts: number;
  @ApiProperty({ nullable: true, type: String, description: 'X-Sluice-Delivery: the same across retries of one delivery' }) delivery_id: string | null;
  @ApiProperty({ nullable: true, type: String }) last_error: string | null;
}

export class TaskStatusDto {
  @ApiProperty({ format: 'uuid' }) task_id: string;
  @ApiProperty() task_name: string;
  @ApiProperty() queue: string;
  @ApiProperty({ enum: TASK_STATUSES }) status: TaskStatus;
  @ApiProperty({ minimum: 0, maximum: 100 }) progress: number;
  @ApiProperty({ description: 'Runs started, the current one included' }) attempts: number;
  @ApiProperty({ description: "Retries after a failed run: the type's, or fewer when the submission asked (options.max_retries)" }) max_retries: number;
  @ApiProperty({ nullable: true, type: Number, description: "Hard time limit in seconds: the type's, or lower when the submission asked (options.time_limit)" })
  time_limit: number | null;
  @ApiProperty({ nullable: true, type: Number, description: "Soft time limit in seconds: the type's, or lower when the submission asked (options.soft_time_limit)" })
  soft_time_limit: number | null;
  @ApiProperty({ format: 'date-time' }) submitted_at: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) started_at: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finished_at: string | null;
  @ApiProperty({ nullable: true, type: Number }) duration_seconds: number | null;
  @ApiPropertyOptional({ nullable: true, description: "The handler's result" }) result: unknown;
  @ApiProperty({ type: TaskErrorDto, nullable: true }) error: TaskErrorDto | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) cancelled_at: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'When a retrying task runs again' })
  next_retry_at: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'billing', description: "The label of the API key that submitted the task (API_KEYS label:key); never the key" })
  submitted_by: string | null;
  @ApiProperty({ type: [AttemptSeriesDto], description: 'Earlier attempt series, oldest first (the last 100): one per POST /retry, as GET showed the task before it; empty unless retried' })
  attempt_history: AttemptSeriesDto[];
  @ApiProperty({ type: TaskCallbackDto, nullable: true, description: 'The completion webhook (options.callback_url); null without one' })
  callback: TaskCallbackDto | null;
}

export class TaskListDto {
  @ApiProperty({ type: [TaskStatusDto] }) items: TaskStatusDto[];
  @ApiProperty({ nullable: true, type: String }) next_cursor: string | null;
}

export class TaskCancelledDto {
  @ApiProperty({ format: 'uuid' }) task_id: string;
  @ApiProperty({ example: 'cancelled' }) status: 'cancelled';
  @ApiProperty({ example: 'Task was pending and has been removed from the queue' }) message: string;
  @ApiProperty({ enum: [TaskStatus.Pending, TaskStatus.Retrying, TaskStatus.Processing, TaskStatus.Cancelled] })
  previous_state: TaskStatus;
  @ApiProperty({ format: 'date-time' }) cancelled_at: string;
}

export class TaskCancellingDto {
  @ApiProperty({ format: 'uuid' }) task_id: string;
  @ApiProperty({ example: 'cancelling' }) status: 'cancelling';
  @ApiProperty({ example: 'Termination requested' }) message: string;
  @ApiProperty({ enum: [TaskStatus.Processing], example: 'processing' }) previous_state: TaskStatus.Processing;
}

export class BatchItemResultDto {
  @ApiProperty({ description: 'Position of the item in the request' }) index: number;
  @ApiProperty({ description: 'What a single POST would have answered: 201, 200 (idempotent repeat), 409 or 422', example: 201 })
  status_code: number;
  @ApiPropertyOptional({ format: 'uuid' }) task_id?: string;
  @ApiPropertyOptional() task_name?: string;
  @ApiPropertyOptional({ enum: TASK_STATUSES }) status?: TaskStatus;
  @ApiPropertyOptional() queue?: string;
  @ApiPropertyOptional({ format: 'date-time' }) submitted_at?: string;
  @ApiPropertyOptional({ description: 'Why the item was refused' }) detail?: string;
}

export class BatchResultDto {
  @ApiProperty({ type: [BatchItemResultDto] }) items: BatchItemResultDto[];
  @ApiProperty({ description: 'Items queued as new tasks' }) created: number;
  @ApiProperty({ description: 'Items refused' }) failed: number;
}
