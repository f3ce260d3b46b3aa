import { Controller, HttpCode, HttpStatus, Param, Post, Req, UseGuards } from '@nestjs/common';
import {
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { API_KEY_SCHEME, AuthenticatedRequest } from '../common/api-key';
import { QueueState } from '../tasks/operator/operator-ledger';
import { QueuePauses } from '../tasks/operator/queue-pauses.service';
import { AdminKeyGuard } from './admin-key.guard';
import { QueueStateDto } from './dto/operator.dto';
import { ErrorResponseDto } from './dto/task-responses.dto';
import { iso } from './task-presenter';

const present = (s: QueueState): QueueStateDto => ({ queue: s.queue, paused: s.paused, paused_at: iso(s.pausedAt), paused_by: s.pausedBy });

/** Pause and resume a queue for every worker; running tasks finish. */
@ApiTags('queues')
@ApiSecurity(API_KEY_SCHEME)
@ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'Invalid or missing API key' })
@ApiForbiddenResponse({ type: ErrorResponseDto, description: "The key's label is not in API_ADMIN_LABELS" })
@ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No registered task type uses this queue' })
@ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: 'Over RATE_LIMIT_PER_MINUTE for this key; see Retry-After' })
@ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'Redis is unreachable' })
@UseGuards(AdminKeyGuard)
@Controller('api/v1/queues')
export class QueuesController {
  constructor(private readonly pauses: QueuePauses) {}

  @Post(':queue/pause')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'pauseQueue', summary: 'Pause a queue: no worker takes its tasks until it is resumed; running tasks finish. Held in Redis, across pods and restarts' })
  @ApiOkResponse({ type: QueueStateDto, description: 'Paused (pausing a paused queue keeps its paused_at)' })
  async pause(@Param('queue') queue: string, @Req() req: AuthenticatedRequest): Promise<QueueStateDto> {
    return present(await this.pauses.pause(queue, req.apiKeyLabel));
  }

  @Post(':queue/resume')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ operationId: 'resumeQueue', summary: 'Resume a paused queue: workers take its tasks again' })
  @ApiOkResponse({ type: QueueStateDto, description: 'Not paused (resuming a queue that is not paused changes nothing)' })
  async resume(@Param('queue') queue: string, @Req() req: AuthenticatedRequest): Promise<QueueStateDto> {
    return present(await this.pauses.resume(queue, req.apiKeyLabel));
  }
}
