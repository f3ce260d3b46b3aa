import { Controller, Get, Headers, HttpStatus, Inject, Param, Res } from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiHeader,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { API_KEY_SCHEME } from '../common/api-key';
import { SERVER_CONFIG } from '../config/config.module';
import { ServerConfig } from '../config/configuration';
import { TaskWatch } from '../task-events/task-watch.service';
import { ErrorResponseDto } from './dto/task-responses.dto';
import { TASK_EVENT, TaskEventStream } from './task-event-stream';
import { presentTask } from './task-presenter';

/** The OpenAPI name of HTTP Basic (the password is an API key), as the job inspection UI takes it. */
export const BASIC_AUTH_SCHEME = 'basic';

/** Only an id this server could have sent is compared; anything else is a fresh start. */
const EVENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

const EXAMPLE =
  `id: kq3m1Yx0V6sT2bQp9LrW4a\nevent: ${TASK_EVENT.status}\ndata: {"task_id":"…","status":"processing","progress":0,…}\n\n` +
  `id: 7dHs0PpQe2mZ5wXc1NbV8u\nevent: ${TASK_EVENT.progress}\ndata: {"task_id":"…","status":"processing","progress":50,…}\n\n` +
  `: keep-alive\n\n` +
  `id: Zr4tG9aL1cVb6nQx2WmE0s\nevent: ${TASK_EVENT.status}\ndata: {"task_id":"…","status":"completed","progress":100,"result":{…},…}\n\n`;

@ApiTags('tasks')
@ApiSecurity(API_KEY_SCHEME)
@ApiBasicAuth(BASIC_AUTH_SCHEME)
@Controller('api/v1/tasks')
export class TaskEventsController {
  constructor(
    private readonly watch: TaskWatch,
    @Inject(SERVER_CONFIG) private readonly server: ServerConfig,
  ) {}

  @Get(':task_id/events')
  @ApiOperation({
    operationId: 'streamTaskEvents',
    summary: "A task's status changes and progress, live (Server-Sent Events)",
    description:
      'Sends the task as GET shows it at once, then after each change: `event: status` when its status changed, ' +
      '`event: progress` when only its progress (or another field) did. Each `data` is the task as GET shows it, and ' +
      'each `id` names that state: a client that reconnects with `Last-Event-ID` gets the task again only if it ' +
      'changed since. A comment (`: keep-alive`) comes every SSE_HEARTBEAT_INTERVAL seconds; the stream ends after a ' +
      'final status (completed, failed or cancelled). Takes X-API-Key, or HTTP Basic with an API key as the password, ' +
      "so that a browser's EventSource can use it.",
  })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The id of the last event received, to resume after it' })
  @ApiOkResponse({
    description: 'The event stream',
    content: { 'text/event-stream': { schema: { type: 'string' }, example: EXAMPLE } },
  })
  @ApiNoContentResponse({ description: "Last-Event-ID is the task's final state: nothing more will come, so an EventSource stops reconnecting" })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Task not found' })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'Invalid or missing API key (with a Basic challenge)' })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'Over RATE_LIMIT_PER_MINUTE for this key; a stream counts once' })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'Redis is unreachable' })
  async events(@Param('task_id') taskId: string, @Headers('last-event-id') lastEventId: string | undefined, @Res() reply: FastifyReply): Promise<void> {
    const resumeFrom = lastEventId !== undefined && EVENT_ID.test(lastEventId) ? lastEventId : undefined;
    const stream = new TaskEventStream(presentTask, this.server.sseHeartbeat * 1000, resumeFrom);
    let unsubscribe: () => void;
    try {
      unsubscribe = await this.watch.subscribe(
        taskId,
        (task) => stream.push(task),
        () => stream.end(),
      );
    } catch (err) {
      stream.destroy();
      throw err;
    }
    stream.onClose(unsubscribe);
    // HEAD gets the stream's headers, and nothing stays watched for it.
    if (reply.request.method === 'HEAD') stream.end();
    if (stream.ended && stream.written === 0) {
      stream.destroy();
      reply.code(HttpStatus.NO_CONTENT).send();
      return;
    }
    // Not awaited: a reply is a thenable that settles only when the stream is over.
    reply
      .code(HttpStatus.OK)
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      // nginx would buffer the stream otherwise.
      .header('x-accel-buffering', 'no')
      .send(stream.body);
  }
}
