import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { TaskCancellation } from '../tasks/task-cancellation.service';
import { TaskQuery } from '../tasks/task-query.service';
import { TaskSubmitter } from '../tasks/task-submitter.service';
import { API_KEY_SCHEME, ApiKeyGuard } from '../common/api-key.guard';
import { ListTasksQuery } from './dto/list-tasks.query';
import { SubmitTaskDto } from './dto/submit-task.dto';
import {
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

@ApiTags('tasks')
@ApiSecurity(API_KEY_SCHEME)
@ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'Invalid or missing API key' })
@ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'Redis is unreachable' })
@UseGuards(ApiKeyGuard)
@Controller('api/v1/tasks')
export class TasksController {
  constructor(
    private readonly submitter: TaskSubmitter,
    private readonly query: TaskQuery,
    private readonly cancellation: TaskCancellation,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Submit a task' })
  @ApiCreatedResponse({ type: TaskSubmittedDto, description: 'Queued' })
  @ApiOkResponse({ type: TaskSubmittedDto, description: 'The idempotency_key was seen before: the existing task' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'The body is not JSON' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'idempotency_key reused with another task_name or payload' })
  @ApiPayloadTooLargeResponse({ type: ErrorResponseDto, description: 'The body is over API_BODY_LIMIT_MB' })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'Invalid body, unknown task_name or invalid payload' })
  async submit(@Body() body: SubmitTaskDto, @Res({ passthrough: true }) reply: StatusReply): Promise<TaskSubmittedDto> {
    const { created, task } = await this.submitter.submit({
      taskName: body.task_name,
      payload: body.payload ?? {},
      options: {
        priority: body.options?.priority,
        delaySeconds: body.options?.delay_seconds,
        idempotencyKey: body.options?.idempotency_key,
      },
    });
    reply.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return {
      task_id: task.id,
      task_name: task.taskName,
      status: task.status,
      queue: task.queue,
      submitted_at: iso(task.submittedAt)!,
    };
  }

  @Get()
  @ApiOperation({ summary: 'List tasks, newest first' })
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
  @ApiOperation({ summary: "A task's status, result or error" })
  @ApiOkResponse({ type: TaskStatusDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Task not found' })
  async get(@Param('task_id') taskId: string): Promise<TaskStatusDto> {
    return presentTask(await this.query.get(taskId));
  }

  @Delete(':task_id')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Cancel a task: remove it from the queue, or terminate it if running' })
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
