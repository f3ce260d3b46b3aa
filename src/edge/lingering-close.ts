import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';

/** How long a closing connection keeps reading a body it answered early, at most. */
const LINGER_MS = 5000;

/** The request whose body the socket's close waits for: the latest answered early on it. */
const LINGER_FOR = Symbol('sluice:linger-for');
type LingeringSocket = Socket & { destroySoon?: () => void; [LINGER_FOR]?: IncomingMessage };

/**
 * A lingering close, as nginx does it, for an answer sent before its request's body was read (a
 * 413 over the body limit, a 415). Node closes such a connection as soon as the answer is written,
 * and the body's unread bytes make the kernel send a reset instead of a clean close. The reset
 * reaches a client that sends its whole body before it reads (Python's http.client and requests,
 * Java's HttpURLConnection) before it has read the answer: it saw "Broken pipe" where the answer
 * said 413.
 *
 * So the socket is ended after the answer (FIN), the rest of the body is read and dropped (Node
 * dumps the request's body once the answer is sent, unparsed), and the socket closes when the body
 * is complete, when the client hangs up, or after LINGER_MS (API_REQUEST_TIMEOUT still applies).
 * Keep-alive answers are left to Node, which reads the rest of the body before the next request.
 * HttpEdge asks for it for key holders only (see there).
 */
export function lingerIfBodyUnread(req: IncomingMessage): void {
  if (req.complete) return;
  const socket = req.socket as LingeringSocket | null;
  if (!socket) return;
  const installed = socket[LINGER_FOR] !== undefined;
  socket[LINGER_FOR] = req;
  if (!installed) socket.destroySoon = lingeringClose;
}

/** Node's destroySoon (end, then destroy once written), but waiting for the body first. */
function lingeringClose(this: LingeringSocket): void {
  if (this.writable) this.end();
  const close = (): void => {
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  };
  const req = this[LINGER_FOR];
  if (!req || req.complete) return close();
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  req.once('end', close);
  this.once('close', () => clearTimeout(timer));
}
