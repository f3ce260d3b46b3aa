import { ServerResponse } from 'node:http';

/**
 * Aborts when the response closes: sent, or its connection gone. A long poll whose client went
 * away stops watching then (a request's own 'close' would fire as soon as its body was read).
 */
export function clientGone(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  response.once('close', () => controller.abort());
  return controller.signal;
}
