import { Inject, Injectable } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticatedRequest } from '../common/api-key';
import { SERVER_CONFIG } from '../config/config.module';
import { ServerConfig } from '../config/configuration';
import { ADMIN_UI_PATH } from '../edge/paths';
import { TaskCancellation } from '../tasks/task-cancellation.service';
import { QueuePauses } from '../tasks/operator/queue-pauses.service';
import { TaskRetry } from '../tasks/operator/task-retry.service';
import { AdminUiForbiddenError, AdminUiReadOnlyError } from './admin-ui.errors';

type Params = { queueName?: string; jobId?: string };
type Action = (params: Params, by: string | undefined) => Promise<unknown>;

/**
 * The board's buttons that act, each through Sluice's own path, never Bull Board's (which would
 * call BullMQ's job.retry or job.remove behind Sluice's transitions):
 *  - a job's Retry → POST /api/v1/tasks/{id}/retry (TaskRetry): a failed or cancelled task only;
 *  - a job's Clean (remove) → DELETE /api/v1/tasks/{id} (TaskCancellation): cancels a waiting or
 *    running task; a finished one is kept until TASK_RESULT_EXPIRES, as the API keeps it;
 *  - a queue's Pause and Resume → POST /api/v1/queues/{queue}/pause and /resume (QueuePauses).
 * Only for keys whose label is in API_ADMIN_LABELS (every key when it is unset); to the others the
 * board is read-only: its queue list tells their browser so (no buttons) and the routes answer 403.
 * Every other mutating route is refused with 405.
 */
@Injectable()
export class AdminUiActions {
  private readonly admins: ReadonlySet<string> | null;
  private readonly actions: Record<string, Action>;

  constructor(
    @Inject(SERVER_CONFIG) server: ServerConfig,
    retry: TaskRetry,
    cancellation: TaskCancellation,
    pauses: QueuePauses,
  ) {
    this.admins = server.adminLabels ? new Set(server.adminLabels) : null;
    const p = `${ADMIN_UI_PATH}/api/queues`;
    this.actions = {
      [`PUT ${p}/:queueName/:jobId/retry`]: (params, by) => retry.retry(params.jobId!, by),
      [`PUT ${p}/:queueName/:jobId/clean`]: (params) => cancellation.cancel(params.jobId!),
      [`PUT ${p}/:queueName/pause`]: (params, by) => pauses.pause(params.queueName!, by),
      [`PUT ${p}/:queueName/resume`]: (params, by) => pauses.resume(params.queueName!, by),
    };
  }

  isAdmin(request: AuthenticatedRequest): boolean {
    return this.admins === null || (request.apiKeyLabel !== undefined && this.admins.has(request.apiKeyLabel));
  }

  /** An onRequest hook of the board's scope, for every method but GET and HEAD. */
  async handle(request: FastifyRequest & AuthenticatedRequest, reply: FastifyReply): Promise<void> {
    const action = this.actions[`${request.method} ${request.routeOptions.url ?? ''}`];
    if (!action) {
      reply.header('allow', 'GET, HEAD');
      throw new AdminUiReadOnlyError(request.method);
    }
    if (!this.isAdmin(request)) throw new AdminUiForbiddenError();
    await action(request.params as Params, request.apiKeyLabel);
    // What the board's own handlers answer on success.
    await reply.code(200).send({});
  }

  /** Tells a non-admin's browser that every queue is read-only, so the board draws no buttons. */
  queuesForViewer(request: AuthenticatedRequest, payload: string): string {
    if (this.isAdmin(request)) return payload;
    const body = JSON.parse(payload) as { queues?: { readOnlyMode?: boolean; allowRetries?: boolean; allowCompletedRetries?: boolean }[] };
    for (const q of body.queues ?? []) Object.assign(q, { readOnlyMode: true, allowRetries: false, allowCompletedRetries: false });
    return JSON.stringify(body);
  }
}
