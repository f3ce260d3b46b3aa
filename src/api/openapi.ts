import type { OpenAPIObject } from '@nestjs/swagger';
import type { ServerConfig } from '../config/configuration';
import { API_KEY_SCHEME } from '../common/api-key';

/**
 * A route's operationId when its @ApiOperation names none: the controller's noun and the method,
 * `queuesPause` for QueuesController.pause, rather than swagger's `QueuesController_pause`. Routes
 * name their own (submitTask, getTask, ...), so this is only the fallback.
 */
export function apiOperationId(controllerKey: string, methodKey: string): string {
  const noun = controllerKey.replace(/Controller$/, '');
  return noun.charAt(0).toLowerCase() + noun.slice(1) + methodKey.charAt(0).toUpperCase() + methodKey.slice(1);
}

type Operations = Record<string, { security?: Record<string, string[]>[]; responses?: Record<string, unknown> }>;

/** What the front door (src/edge) answers for every route, before any controller runs. */
const EDGE_RESPONSES: Record<string, string> = {
  '408': 'The request was not received within API_HEADERS_TIMEOUT / API_REQUEST_TIMEOUT',
  '431': 'Request headers over 16 KiB',
};

/**
 * The front door's part of the document: the answers it gives on every route, and /metrics behind a
 * key when API_METRICS_ACCESS=key (the route itself is declared open).
 */
export function describeFrontDoor(document: OpenAPIObject, server: Pick<ServerConfig, 'metricsAccess'>): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const operation of Object.values(item as Operations)) {
      if (typeof operation !== 'object' || !operation.responses) continue;
      for (const [status, description] of Object.entries(EDGE_RESPONSES)) {
        operation.responses[status] ??= { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' } } } };
      }
      if (path === '/metrics' && server.metricsAccess === 'key') {
        operation.security = [{ [API_KEY_SCHEME]: [] }];
        operation.responses['401'] ??= { description: 'Invalid or missing API key (API_METRICS_ACCESS=key)', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' } } } };
      }
    }
  }
}
