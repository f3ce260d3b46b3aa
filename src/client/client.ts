import createClient from 'openapi-fetch';
import type { components, paths } from './openapi';

export type { components, paths };
/**
 * What every task shows, whatever its type: GET's answer is a `oneOf` per task type (each narrows
 * `task_name` and `result`), and each member has these.
 */
export type Task = Pick<components['schemas']['TaskStatusBase'], 'task_id' | 'status' | 'progress' | 'attempts' | 'max_retries' | 'error'> & {
  task_name: string;
  result?: unknown;
};
export type SubmitBody = components['schemas']['SubmitTaskDto'];

export interface ClientOptions {
  /** The API's base URL, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  apiKey: string;
  /** For tests and other runtimes; the global fetch by default. */
  fetch?: typeof fetch;
}

/** An answer other than 2xx: its status and the API's `detail`. */
export class SluiceApiError extends Error {
  override readonly name = 'SluiceApiError';
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`${status}: ${detail}`);
  }
}

/**
 * A typed client of the Sluice API on openapi-fetch: paths, bodies and answers are the OpenAPI
 * document's (src/client/openapi.ts, generated from it by `npm run generate:client`).
 */
export function createSluiceClient(options: ClientOptions) {
  return createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { 'X-API-Key': options.apiKey },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}

export type SluiceClient = ReturnType<typeof createSluiceClient>;

/** The data of a 2xx answer; anything else is thrown as a SluiceApiError with the API's detail. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }> | Promise<unknown>): Promise<T> {
  const { data, error, response } = (await call) as { data?: T; error?: unknown; response: Response };
  if (response.ok) return data as T;
  const detail = typeof error === 'object' && error !== null && 'detail' in error ? String((error as { detail: unknown }).detail) : response.statusText;
  throw new SluiceApiError(response.status, detail);
}

export interface TaskEvent {
  /** `status` or `progress` (see the README's "Live progress without polling"). */
  event: string;
  id: string | undefined;
  task: Task;
}

/**
 * A task's Server-Sent Events stream (GET /api/v1/tasks/{id}/events), as an async iterator of the
 * task at each change; it ends after the final state.
 */
export async function* taskEvents(options: ClientOptions, taskId: string, signal?: AbortSignal): AsyncGenerator<TaskEvent> {
  const res = await (options.fetch ?? fetch)(`${options.baseUrl.replace(/\/+$/, '')}/api/v1/tasks/${encodeURIComponent(taskId)}/events`, {
    headers: { 'X-API-Key': options.apiKey, accept: 'text/event-stream' },
    signal,
  });
  if (res.status === 204) return;
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { detail?: string };
    throw new SluiceApiError(res.status, body.detail ?? res.statusText);
  }
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const parsed = parseEvent(block);
      if (parsed) yield parsed;
    }
  }
}

function parseEvent(block: string): TaskEvent | undefined {
  let event = 'message';
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'id') id = value;
    else if (field === 'data') data.push(value);
  }
  return data.length ? { event, id, task: JSON.parse(data.join('\n')) as Task } : undefined;
}
