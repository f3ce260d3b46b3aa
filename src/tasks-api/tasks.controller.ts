import { ServerResponse } from 'node:http';
import { Body, Controller, Delete, Get, HttpCode, HttpException, HttpStatus, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { TaskCancellation } from '../tasks/task-cancellation.service';
import { TaskQuery } from '../tasks/task-query.service';
import { SubmitRequest, SubmitResult, TaskSubmitter } from '../tasks/task-submitter.service';
import { domainStatus } from '../common/http-exception.filter';
import { API_KEY_SCHEME, AuthenticatedRequest } from '../common/api-key';
import { ListTasksQuery } from './dto/list-tasks.query';
import { GetTaskQuery } from './dto/get-task.query';
import { TaskWatch } from '../task-events/task-watch.service';
import { clientGone } from './client-gone';
import { MAX_BATCH, SubmitBatchDto, SubmitTaskDto } from './dto/submit-task.dto';
import { BatchItem, SubmitBatchPipe, SubmitTaskPipe } from './submit-body.pipe';
import {
  BatchItemResultDto,
  BatchResultDto,
  ErrorResponseDto,
  TaskCancelledDto,
  TaskCancellingDto,
  TaskListDto,
  TaskStatusDto,
  TaskSubmittedDto,
} from './dto/task-responses.dto';
import { iso, presentTask } from './task-presenter';

interface StatusReply {
  status(code: number): unknown;
}

/** `submittedBy`: the label of the key that authenticated the request, never the key. */
function toRequest(body: SubmitTaskDto, submittedBy: string | undefined): SubmitRequest {
  return {
    taskName: body.task_name,
    payload: body.payload ?? {},
    submittedBy,
    options: {
      priority: body.options?.priority,
      delaySeconds: body.options?.delay_seconds,
      idempotencyKey: body.options?.idempotency_key,
      limits: { timeLimit: body.options?.time_limit, softTimeLimit: body.options?.soft_time_limit, maxRetries: body.options?.max_retries },
      callbackUrl: body.options?.callback_url,
    },
  };
}

function presentSubmitted(task: SubmitResult['task']): TaskSubmittedDto {
  return { task_id: task.id, task_name: task.taskName, status: task.status, queue: task.queue, submitted_at: iso(task.submittedAt)! };
}

@ApiTags('tasks')
@ApiSecurity(API_KEY_SCHEME)
@ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'Invalid or missing API key' })
@ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'Over RATE_LIMIT_PER_MINUTE for this key; see Retry-After' })
@ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'Redis is unreachable' })
// X-API-Key is checked by the edge's onRequest hook (ApiGate), before the body is read.
@Controller('api/v1/tasks')
export class TasksController {
  constructor(
    private readonly submitter: TaskSubmitter,
    private readonly query: TaskQuery,
    private readonly cancellation: TaskCancellation,
    private readonly watch: TaskWatch,
  ) {}

  @Post()
  @ApiOperation({ operationId: 'submitTask', summary: 'Submit a task' })
  @ApiCreatedResponse({ type: TaskSubmittedDto, description: 'Queued' })
  @ApiOkResponse({ type: TaskSubmittedDto, description: 'The idempotency_key was seen before: the existing task' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'The body is not JSON' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'idempotency_key reused with another task_name or payload' })
  @ApiPayloadTooLargeResponse({ type: ErrorResponseDto, description: 'The body is over API_BODY_LIMIT_MB' })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorResponseDto, description: 'The body is not application/json' })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'Invalid body, unknown task_name or invalid payload' })
  async submit(@Body(SubmitTaskPipe) body: SubmitTaskDto, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) reply: StatusReply): Promise<TaskSubmittedDto> {
    const { created, task } = await this.submitter.submit(toRequest(body, req.apiKeyLabel));
    reply.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return presentSubmitted(task);
  }

  @Post('batch')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'submitTasks', summary: `Submit up to ${MAX_BATCH} tasks in one request, with a result per item` })
  @ApiOkResponse({ type: BatchResultDto, description: 'Every item processed; see each status_code' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'The body is not JSON' })
  @ApiPayloadTooLargeResponse({ type: ErrorResponseDto, description: 'The body is over API_BODY_LIMIT_MB' })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorResponseDto, description: 'The body is not application/json' })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: `tasks is not an array of 1 to ${MAX_BATCH} objects` })
  @ApiBody({ type: SubmitBatchDto })
  async submitBatch(@Body(SubmitBatchPipe) tasks: BatchItem[], @Req() req: AuthenticatedRequest): Promise<BatchResultDto> {
    const items: BatchItemResultDto[] = new Array(tasks.length);
    const requests: { index: number; req: SubmitRequest }[] = [];
    tasks.forEach((item, index) => {
      if (item instanceof HttpException) items[index] = { index, status_code: item.getStatus(), detail: item.message };
      else requests.push({ index, req: toRequest(item, req.apiKeyLabel) });
    });
    const results = await this.submitter.submitMany(requests.map((r) => r.req));
    results.forEach((result, i) => {
      const index = requests[i].index;
      items[index] =
        result instanceof Error
          ? { index, status_code: domainStatus(result) ?? HttpStatus.UNPROCESSABLE_ENTITY, detail: result.message }
          : { index, status_code: result.created ? HttpStatus.CREATED : HttpStatus.OK, ...presentSubmitted(result.task) };
    });
    const created = items.filter((i) => i.status_code === HttpStatus.CREATED).length;
    return { items, created, failed: items.filter((i) => i.status_code >= 400).length };
  }

  @Get()
  @ApiOperation({ operationId: 'listTasks', summary: 'List tasks, newest first' })
  @ApiOkResponse({ type: TaskListDto })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'Invalid filter, limit or cursor' })
  async list(@Query() q: ListTasksQuery): Promise<TaskListDto> {
    const page = await this.query.list(
      { status: q.status, taskName: q.task_name },
      q.limit ?? 20,
      q.cursor === undefined ? undefined : Number(q.cursor),
    );
    return { items: page.items.map(presentTask), next_cursor: page.nextCursor === null ? null : String(page.nextCursor) };
  }

  @Get(':task_id')
  @ApiOperation({ operationId: 'getTask', summary: "A task's status, result or error" })
  @ApiOkResponse({ type: TaskStatusDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Task not found' })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'wait is not a number of seconds from 0 to 60' })
  async get(@Param('task_id') taskId: string, @Query() q: GetTaskQuery, @Res({ passthrough: true }) reply: { raw: ServerResponse }): Promise<TaskStatusDto> {
    // A long poll watches the task (see TaskWatch): no polling, and no Redis connection of its own.
    if (q.wait) return presentTask(await this.watch.untilFinal(taskId, q.wait * 1000, clientGone(reply.raw)));
    return presentTask(await this.query.get(taskId));
  }

  @Delete(':task_id')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'cancelTask', summary: 'Cancel a task: remove it from the queue, or terminate it if running' })
  @ApiOkResponse({ type: TaskCancelledDto, description: 'Cancelled, or already cancelled' })
  @ApiAcceptedResponse({ type: TaskCancellingDto, description: 'Running; termination requested but not yet confirmed' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Already completed or failed' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Task not found' })
  async cancel(
    @Param('task_id') taskId: string,
    @Res({ passthrough: true }) reply: StatusReply,
  ): Promise<TaskCancelledDto | TaskCancellingDto> {
    const outcome = await this.cancellation.cancel(taskId);
    if (outcome.kind === 'cancelling') {
      reply.status(HttpStatus.ACCEPTED);
      return { task_id: taskId, status: 'cancelling', message: 'Termination requested', previous_state: outcome.previous };
    }
    return {
      task_id: taskId,
      status: 'cancelled',
      message: outcome.message,
      previous_state: outcome.previous,
      cancelled_at: iso(outcome.cancelledAt)!,
    };
  }
}
