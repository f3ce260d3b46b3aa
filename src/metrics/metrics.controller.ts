import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiSecurity, ApiServiceUnavailableResponse, ApiTags, ApiTooManyRequestsResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { API_KEY_SCHEME } from '../common/api-key';
import { StoreUnavailableError } from '../tasks/task.errors';
import { QueuePauses } from '../tasks/operator/queue-pauses.service';
import { AlertEvaluator, HealthReport } from './alert-evaluator.service';
import { TaskMetricsSnapshot, TaskStats } from './task-stats.service';

class MetricsBodyDto implements TaskMetricsSnapshot {
  @ApiProperty({ example: 150 }) total_tasks: number;
  @ApiProperty({ example: 135 }) completed_tasks: number;
  @ApiProperty({ example: 10 }) failed_tasks: number;
  @ApiProperty({ example: 5 }) retried_tasks: number;
  @ApiProperty({ example: 0 }) cancelled_tasks: number;
  @ApiProperty({ example: 0, description: 'Failed or cancelled tasks re-queued by POST /tasks/{id}/retry; each one left failed_tasks or cancelled_tasks then' })
  requeued_tasks: number;
  @ApiProperty({ example: 90.0, description: '% of total_tasks' }) success_rate: number;
  @ApiProperty({ example: 6.67, description: '% of total_tasks' }) failure_rate: number;
  @ApiProperty({ example: { automated_gather_creation: 245.5 }, additionalProperties: { type: 'number' } })
  average_durations: Record<string, number>;
  @ApiProperty({ example: 3 }) currently_running: number;
  @ApiProperty({ type: () => [PausedQueueDto], description: 'Queues paused now (POST /queues/{queue}/pause)' })
  paused_queues: PausedQueueDto[];
}
class PausedQueueDto {
  @ApiProperty({ example: 'cpu_intensive' }) queue: string;
  @ApiProperty({ format: 'date-time' }) paused_at: string;
  @ApiProperty({ nullable: true, type: String, description: 'The label of the key that paused it' }) paused_by: string | null;
}
class MetricsResponseDto {
  @ApiProperty({ type: MetricsBodyDto }) metrics: MetricsBodyDto;
  @ApiProperty({ format: 'date-time' }) timestamp: string;
}
class AlertDto {
  @ApiProperty({ enum: ['warning', 'critical'] }) severity: string;
  @ApiProperty({ example: 'Task abc123 running for 520 seconds' }) message: string;
  @ApiProperty({ enum: ['failure_rate', 'task_duration', 'memory_usage', 'workers', 'queue_paused', 'redis_persistence', 'redis_data_lost'] }) metric: string;
  @ApiProperty({ example: 520 }) value: number;
  @ApiProperty({ required: false, description: 'For task_duration (and memory_usage while a task runs)' }) task_id?: string;
  @ApiProperty({ required: false, format: 'date-time', description: 'For redis_data_lost: when the loss was found' }) data_lost_at?: string;
  @ApiProperty({ required: false, description: 'For queue_paused: the paused queue' }) queue?: string;
  @ApiProperty({ required: false, format: 'date-time', description: 'For queue_paused: when it was paused' }) paused_at?: string;
}
class HealthMetricsDto {
  @ApiProperty() total_tasks: number;
  @ApiProperty() success_rate: number;
  @ApiProperty({ description: 'Lifetime figure, as in /metrics' }) failure_rate: number;
}
class HealthResponseDto implements HealthReport {
  @ApiProperty({ enum: ['healthy', 'warning', 'critical'] }) status: HealthReport['status'];
  @ApiProperty({ type: HealthMetricsDto }) metrics: HealthMetricsDto;
  @ApiProperty({ type: [AlertDto] }) alerts: HealthReport['alerts'];
  @ApiProperty({ format: 'date-time', description: 'When the alerts were last evaluated' }) timestamp: string;
}

/** The seed's JSON monitoring endpoints. Declared before `/:task_id` so the fixed paths win. */
@ApiTags('monitoring')
@ApiSecurity(API_KEY_SCHEME)
@ApiUnauthorizedResponse({ description: 'Invalid or missing API key' })
@ApiTooManyRequestsResponse({ description: 'Over RATE_LIMIT_PER_MINUTE for this key; see Retry-After' })
@ApiServiceUnavailableResponse({ description: 'Redis is unreachable' })
// X-API-Key is checked by the edge's onRequest hook (ApiGate).
@Controller('api/v1/tasks')
export class MetricsController {
  constructor(
    private readonly stats: TaskStats,
    private readonly alerts: AlertEvaluator,
    private readonly pauses: QueuePauses,
  ) {}

  @Get('metrics')
  @ApiOperation({ operationId: 'getTaskMetrics', summary: 'Task counters, rates, average durations and running tasks, the same on every API pod' })
  @ApiOkResponse({ type: MetricsResponseDto })
  async metrics(): Promise<MetricsResponseDto> {
    const [snapshot, states] = await Promise.all([this.stats.snapshot(), this.pauses.states()]);
    const paused_queues = states
      .filter((q) => q.paused)
      .map((q) => ({ queue: q.queue, paused_at: new Date(q.pausedAt ?? Date.now()).toISOString(), paused_by: q.pausedBy }));
    return { metrics: { ...snapshot, paused_queues }, timestamp: new Date().toISOString() };
  }

  @Get('health')
  @ApiOperation({ operationId: 'getTaskHealth', summary: 'Health status with active alerts (failure rate, task duration, memory, workers, paused queues, Redis durability)' })
  @ApiOkResponse({ type: HealthResponseDto })
  health(): HealthReport {
    const report = this.alerts.report();
    if (!report) throw new StoreUnavailableError('Redis is unavailable: alerts could not be evaluated');
    return report;
  }
}
