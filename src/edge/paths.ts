import { FastifyRequest } from 'fastify';

/** Where Swagger UI and the OpenAPI document are served. */
export const DOCS_PATH = 'docs';
export const DOCS_JSON_PATH = 'docs-json';
export const METRICS_PATH = '/metrics';
/** Where Bull Board, the job inspection UI, is mounted (ADMIN_UI). */
export const ADMIN_UI_PATH = '/admin/queues';

/**
 * The path a request is judged by: its route's pattern when the router matched one (what the
 * router decoded and matched, so percent-encoding cannot dodge a check), else its decoded path.
 */
export function judgedPath(request: FastifyRequest): string {
  const route = request.routeOptions.url;
  if (route !== undefined) return route;
  const q = request.url.indexOf('?');
  const path = q < 0 ? request.url : request.url.slice(0, q);
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}

export const isApiPath = (path: string): boolean => path === '/api' || path.startsWith('/api/');
export const isProbePath = (path: string): boolean => path.startsWith('/health/');
export const isMetricsPath = (path: string): boolean => path === METRICS_PATH;
export const isDocsPath = (path: string): boolean =>
  path === `/${DOCS_PATH}` || path.startsWith(`/${DOCS_PATH}/`) || path === `/${DOCS_JSON_PATH}`;
export const isAdminUiPath = (path: string): boolean => path === ADMIN_UI_PATH || path.startsWith(`${ADMIN_UI_PATH}/`);
/** A task's event stream, by its route pattern (`/api/v1/tasks/:task_id/events`): a browser's EventSource cannot send X-API-Key. */
export const isTaskEventsRoute = (path: string): boolean => /^\/api\/v1\/tasks\/:[A-Za-z0-9_]+\/events$/.test(path);
