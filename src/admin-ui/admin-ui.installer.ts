import { ArgumentsHost, Inject, Injectable } from '@nestjs/common';
import { createBullBoard } from '@bull-board/api';
import { FastifyAdapter as BoardServer } from '@bull-board/fastify';
import { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { Redis } from 'ioredis';
import { HttpExceptionFilter } from '../common/http-exception.filter';
import { ADMIN_UI_PATH } from '../edge/paths';
import { REDIS_CLIENT } from '../redis/redis.module';
import { TaskQueues } from '../tasks/task-queues';
import { AdminUiActions } from './admin-ui.actions';
import { AdminUiMalformedUrlError } from './admin-ui.errors';
import { withBoardDetail } from './board-errors';
import { SluiceBoardQueue } from './sluice-board-queue';

const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);
/** The board's list of queues, whose readOnlyMode its page draws the buttons by. */
const QUEUES_ROUTE = `${ADMIN_UI_PATH}/api/queues`;

/**
 * Mounts Bull Board, read-only, at /admin/queues, over the API's own BullMQ queues and Redis
 * connection. Bull Board is a raw Fastify plugin, so no Nest guard or filter reaches it; what
 * guards it is Fastify's own:
 *  - the edge's onRequest hooks are the root's, so they run for every route it registers, static
 *    files included: ApiGate checks the key (X-API-Key or Basic auth) and rate-limits;
 *  - its routes get the UI's CSP from HttpEdge's onRoute policy;
 *  - any method but GET and HEAD is handled here, before the plugin: retry, cancel, pause and
 *    resume go through Sluice's own paths, for admin keys (AdminUiActions), and everything else is
 *    refused, whatever a later Bull Board adds. Mutations are PUTs with a JSON body, which a
 *    cross-site form cannot send, so a browser's stored Basic credentials cannot be used for them.
 * The plugin replaces the error handler of its scope with its own, which answers in its own shape
 * and with 500 for any error without a `statusCode`, such as the gate's 401 (a Nest exception);
 * each of its routes takes the app's filter instead, so every error leaves as `{"detail": ...}`
 * with its status and headers. The board decodes `activeQueue` once more than Fastify does, so a
 * value such as `%25` throws a URIError there: the client's fault, a 400. The errors the board's
 * handlers answer themselves (an unknown queue or job, a bad query value) get a `detail` on the
 * way out, beside the board's translation key.
 */
@Injectable()
export class AdminUiInstaller {
  private readonly filter = new HttpExceptionFilter();

  constructor(
    private readonly queues: TaskQueues,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly actions: AdminUiActions,
  ) {}

  /**
   * Before the app is initialised: routes cannot be added once Fastify is ready. The plugin is
   * queued, not awaited: awaiting would load every plugin queued so far (Swagger's too) before Nest
   * sets the root error handler at init, and their scopes would keep Fastify's default one.
   */
  install(fastify: FastifyInstance): void {
    const server = new BoardServer().setBasePath(ADMIN_UI_PATH);
    createBullBoard({
      queues: this.queues.names().map((name) => new SluiceBoardQueue(this.queues.get(name), name, this.queues.keys(name), this.redis)),
      serverAdapter: server,
      options: { uiConfig: { boardTitle: 'Sluice', hideDocsLink: true } },
    });
    void fastify.register(
      async (scope) => {
        scope.addHook('onRoute', (route: RouteOptions) => {
          route.errorHandler = (error: unknown, _request: FastifyRequest, reply: FastifyReply) =>
            this.filter.catch(error instanceof URIError ? new AdminUiMalformedUrlError() : error, replyHost(reply));
        });
        // Bull Board's own handlers never change a task: its buttons act through Sluice (AdminUiActions).
        scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
          if (READ_METHODS.has(request.method)) return;
          await this.actions.handle(request, reply);
        });
        scope.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
          if (typeof payload !== 'string') return payload;
          if (reply.statusCode >= 400) return withBoardDetail(payload);
          return request.routeOptions.url === QUEUES_ROUTE ? this.actions.queuesForViewer(request, payload) : payload;
        });
        await scope.register(server.registerPlugin());
      },
      { prefix: ADMIN_UI_PATH },
    );
  }
}

/** The ArgumentsHost the filter reads a reply from. */
function replyHost(reply: FastifyReply): ArgumentsHost {
  return { switchToHttp: () => ({ getResponse: () => reply }) } as unknown as ArgumentsHost;
}
