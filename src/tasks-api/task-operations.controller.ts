import { Body, Controller, HttpCode, HttpStatus, Param, Post, Req, UseGuards } from '@nestjs/common';
import {
  ApiBody,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { API_KEY_SCHEME, AuthenticatedRequest } from '../common/api-key';
import { BulkCancellation, MAX_BULK_CANCEL } from '../tasks/operator/bulk-cancel.service';
import { TaskRetry } from '../tasks/operator/task-retry.service';
import { AdminKeyGuard } from './admin-key.guard';
import { BulkCancelDto, BulkCancelResultDto } from './dto/operator.dto';
import { ErrorResponseDto, TaskStatusDto } from './dto/task-responses.dto';
import { presentTask } from './task-presenter';

/** Operator controls on tasks: retry one that failed or was cancelled, and cancel many at once. */
@ApiTags('tasks')
@ApiSecurity(API_KEY_SCHEME)
@ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'Invalid or missing API key' })
@ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'Over RATE_LIMIT_PER_MINUTE for this key; see Retry-After' })
@ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'Redis is unreachable' })
@Controller('api/v1/tasks')
export class TaskOperationsController {
  constructor(
    private readonly retries: TaskRetry,
    private readonly bulk: BulkCancellation,
  ) {}

  @Post('cancel')
  @HttpCode(HttpStatus.OK)
  @UseGuards(AdminKeyGuard)
  @ApiOperation({
    operationId: 'cancelTasks',
    summary: `Cancel up to ${MAX_BULK_CANCEL} tasks: by id, or those a filter selects (queued, retrying and running alike), with a cursor for the rest`,
  })
  @ApiBody({ type: BulkCancelDto })
  @ApiOkResponse({ type: BulkCancelResultDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: "The key's label is not in API_ADMIN_LABELS" })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'Neither task_ids nor a filter, both, or an invalid field' })
  async cancelMany(@Body() body: BulkCancelDto, @Req() req: AuthenticatedRequest): Promise<BulkCancelResultDto> {
    const r = await this.bulk.cancel(
      body.task_ids !== undefined
        ? { taskIds: body.task_ids }
        : {
            taskName: body.task_name ?? undefined,
            status: body.status ?? undefined,
            submittedBefore: body.submitted_before == null ? undefined : Date.parse(body.submitted_before),
            limit: body.limit ?? MAX_BULK_CANCEL,
            cursor: body.cursor == null ? undefined : Number(body.cursor),
          },
      req.apiKeyLabel,
    );
    return {
      cancelled: r.cancelled,
      termination_requested: r.terminationRequested,
      already_final: r.alreadyFinal,
      not_found: r.notFound,
      next_cursor: r.nextCursor === null ? null : String(r.nextCursor),
    };
  }

  @Post(':task_id/retry')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'retryTask', summary: 'Re-queue a failed or cancelled task as a new attempt series; GET keeps the earlier ones in attempt_history' })
  @ApiOkResponse({ type: TaskStatusDto, description: 'Queued again; the task as GET shows it' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'Not failed or cancelled (pending, retrying, processing or completed)' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Task not found' })
  async retry(@Param('task_id') taskId: string, @Req() req: AuthenticatedRequest): Promise<TaskStatusDto> {
    return presentTask(await this.retries.retry(taskId, req.apiKeyLabel));
  }
}
