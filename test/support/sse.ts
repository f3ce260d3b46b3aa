import { IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { waitFor } from './wait';

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
  /** When the event arrived (Date.now()). */
  at: number;
}

/** One Server-Sent Events connection, parsed as an EventSource would (no reconnects). */
export interface SseClient {
  status: number;
  headers: IncomingHttpHeaders;
  events: SseEvent[];
  /** Comment lines received (`: keep-alive`), with when each came. */
  comments: number[];
  /** The body as received, for non-200 answers. */
  text: string;
  /** Resolves when the server ends the response (or the connection closes). */
  ended: Promise<void>;
  isEnded(): boolean;
  close(): void;
  /** Waits for an event matching `pred` (or any), after those already seen when `from` is given. */
  next(pred?: (e: SseEvent) => boolean, timeoutMs?: number, from?: number): Promise<SseEvent>;
}

/** Opens `path` with `headers` and resolves once the response head arrived. */
export function openSse(port: number, path: string, headers: Record<string, string>): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', agent: false, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let buffer = '';
      let ended = false;
      const client: SseClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        comments: [],
        text: '',
        ended: new Promise<void>((done) => {
          res.on('end', done);
          res.on('close', done);
          res.on('error', done);
        }).then(() => {
          ended = true;
        }),
        isEnded: () => ended,
        close: () => {
          req.destroy();
          res.destroy();
        },
        next: (pred = () => true, timeoutMs = 15_000, from = 0) =>
          waitFor(`an SSE event on ${path}`, () => client.events.slice(from).find(pred), timeoutMs, 10),
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        client.text += chunk;
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { data: '', at: Date.now() };
          let isEvent = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) client.comments.push(Date.now());
            else if (line.startsWith('id: ')) event.id = line.slice(4);
            else if (line.startsWith('event: ')) event.event = line.slice(7);
            else if (line.startsWith('data: ')) {
              event.data += line.slice(6);
              isEvent = true;
            }
          }
          if (isEvent) client.events.push(event);
        }
      });
      resolve(client);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The task in an event's data. */
export const taskOf = (e: SseEvent): { task_id: string; status: string; progress: number; [k: string]: unknown } => JSON.parse(e.data);
