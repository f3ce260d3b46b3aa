import { connect } from 'node:net';

/**
 * How a request's body is framed on the wire. Most requests are well framed; the rest are what a
 * broken or hostile client sends: both framings at once (a smuggling attempt), a body without any
 * length, a body shorter than its Content-Length (the client stalls), or headers never finished.
 */
export type Framing = 'length' | 'chunked' | 'both' | 'unframed' | 'truncated' | 'stalled-headers';

/** One request, written byte for byte on a fresh connection, so anything can be sent. */
export interface WireRequest {
  method: string;
  /** The request-target exactly as written: not encoded, not checked. */
  target: string;
  /** In order, duplicates allowed; written as latin1. Host and Connection come from here too. */
  headers: [string, string][];
  body?: string;
  framing: Framing;
  /** When set, these bytes are written instead of a request built from the fields above. */
  raw?: string;
  /**
   * An event stream that may stay open (a task's, while the task is not final): its first event or
   * comment is the answer, and the connection is then closed, as a client going away closes it.
   * Without it, an event stream is answered only when it ends, like any body.
   */
  untilFirstEvent?: boolean;
}

export interface WireResponse {
  status: number;
  /** Lowercased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
  ms: number;
  /**
   * A 200 `text/event-stream` the server had not ended when its first event (or comment) had come,
   * for a request `untilFirstEvent`: the client took that as the answer and closed the connection,
   * and `body` is what came until then.
   */
  open?: true;
}

export type WireOutcome =
  | ({ kind: 'response' } & WireResponse)
  /** The server closed the connection without a complete response. */
  | { kind: 'closed'; ms: number; error?: string; partial: string }
  /** No complete response within the per-request timeout. */
  | { kind: 'timeout'; ms: number; partial: string };

/** The bytes of a request: request line, headers and body, framed as asked. */
export function encodeRequest(req: WireRequest): Buffer {
  if (req.raw !== undefined) return Buffer.from(req.raw, 'latin1');
  const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
  const headers = [...req.headers];
  let payload: Buffer = Buffer.alloc(0);
  if (body !== undefined) {
    if (req.framing === 'length') headers.push(['Content-Length', String(body.length)]);
    if (req.framing === 'truncated') headers.push(['Content-Length', String(body.length + 16)]);
    if (req.framing === 'chunked' || req.framing === 'both') {
      headers.push(['Transfer-Encoding', 'chunked']);
      if (req.framing === 'both') headers.push(['Content-Length', String(body.length)]);
      const half = Math.floor(body.length / 2);
      const chunks = [body.subarray(0, half), body.subarray(half)].filter((c) => c.length > 0);
      payload = Buffer.concat([...chunks.flatMap((c) => [Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]), Buffer.from('0\r\n\r\n')]);
    } else {
      payload = body;
    }
  }
  const head = `${req.method} ${req.target} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}`;
  // Stalled headers: the blank line that ends them never comes.
  if (req.framing === 'stalled-headers') return Buffer.from(head, 'latin1');
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), payload]);
}

/**
 * The first final (non-1xx) response in `data`, or undefined while it is incomplete. `untilClose`:
 * the connection has closed, so a body without length ends here.
 */
export function parseResponse(data: Buffer, isHead: boolean, untilClose: boolean): Omit<WireResponse, 'ms'> | undefined {
  const head = parseHead(data);
  if (head === undefined) return undefined;
  if (head.status < 0) return { status: -1, headers: {}, body: data.subarray(head.start).toString('utf8') };
  const { status, headers, bodyStart } = head;
  if (isHead || status === 204 || status === 304) return { status, headers, body: '' };
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const body = dechunk(data.subarray(bodyStart));
    return body === undefined ? (untilClose ? { status, headers, body: data.subarray(bodyStart).toString('utf8') } : undefined) : { status, headers, body };
  }
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (data.length - bodyStart < length) return untilClose ? { status, headers, body: data.subarray(bodyStart).toString('utf8') } : undefined;
    return { status, headers, body: data.subarray(bodyStart, bodyStart + length).toString('utf8') };
  }
  return untilClose ? { status, headers, body: data.subarray(bodyStart).toString('utf8') } : undefined;
}

interface ResponseHead {
  /** -1: the answer is not HTTP. */
  status: number;
  headers: Record<string, string>;
  /** Where the head of the final response starts, and where its body does. */
  start: number;
  bodyStart: number;
}

/** The head of the first final (non-1xx) response in `data`, or undefined while it is incomplete. */
function parseHead(data: Buffer): ResponseHead | undefined {
  let offset = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', offset, 'latin1');
    if (end < 0) return undefined;
    const lines = data.subarray(offset, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
    if (!m) return { status: -1, headers: {}, start: offset, bodyStart: offset };
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const name = line.slice(0, i).trim().toLowerCase();
      const value = line.slice(i + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    if (status >= 100 && status < 200) {
      offset = end + 4;
      continue;
    }
    return { status, headers, start: offset, bodyStart: end + 4 };
  }
}

/**
 * A 200 `text/event-stream` still open, once its first event or comment (a line, then a blank
 * line) is in: the head and the body so far. Undefined for any other answer, or before that.
 */
export function parseOpenEventStream(data: Buffer, isHead: boolean): Omit<WireResponse, 'ms'> | undefined {
  const head = parseHead(data);
  if (isHead || head === undefined || head.status !== 200 || !/^text\/event-stream\b/i.test(head.headers['content-type'] ?? '')) return undefined;
  const rest = data.subarray(head.bodyStart);
  const body = /chunked/i.test(head.headers['transfer-encoding'] ?? '') ? readChunks(rest).body : rest.toString('utf8');
  return /\r?\n\r?\n/.test(body) ? { status: head.status, headers: head.headers, body, open: true } : undefined;
}

/**
 * The complete chunks at the start of a chunked body, and whether its last chunk (size 0) was
 * among them. A malformed size ends the reading there, incomplete.
 */
function readChunks(data: Buffer): { body: string; complete: boolean } {
  const parts: Buffer[] = [];
  const body = () => Buffer.concat(parts).toString('utf8');
  let i = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', i, 'latin1');
    const size = eol < 0 ? NaN : parseInt(data.subarray(i, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) return { body: body(), complete: false };
    if (size === 0) return { body: body(), complete: true };
    if (data.length < eol + 2 + size + 2) return { body: body(), complete: false };
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

/** A whole chunked body, or undefined while it is incomplete. */
function dechunk(data: Buffer): string | undefined {
  const { body, complete } = readChunks(data);
  return complete ? body : undefined;
}

/**
 * Sends one request on a new connection and waits for its response, the server closing the
 * connection, or `timeoutMs`. A server may answer before it has read the whole body (a 401 or 413)
 * and close; the answer is still read. For a request `untilFirstEvent`, an event stream (a 200
 * `text/event-stream`) still open is answered once its first event or comment has come: it is
 * returned `open`, and the connection closed (see parseOpenEventStream).
 */
export function exchange(port: number, req: WireRequest, timeoutMs: number): Promise<WireOutcome> {
  const bytes = encodeRequest(req);
  const isHead = req.raw === undefined && req.method === 'HEAD';
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
    const chunks: Buffer[] = [];
    let settled = false;
    let error: string | undefined;
    const socket = connect(port, '127.0.0.1');
    const finish = (outcome: WireOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout', ms: elapsed(), partial: Buffer.concat(chunks).toString('latin1').slice(0, 500) }), timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const data = Buffer.concat(chunks);
      const parsed = parseResponse(data, isHead, false) ?? (req.untilFirstEvent ? parseOpenEventStream(data, isHead) : undefined);
      if (parsed) finish({ kind: 'response', ...parsed, ms: elapsed() });
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // EPIPE / ECONNRESET while the body is still being written: the server answered early.
      error = e.code ?? e.message;
    });
    socket.on('close', () => {
      const data = Buffer.concat(chunks);
      const parsed = parseResponse(data, isHead, true);
      if (parsed) finish({ kind: 'response', ...parsed, ms: elapsed() });
      else finish({ kind: 'closed', ms: elapsed(), error, partial: data.toString('latin1').slice(0, 500) });
    });
    socket.write(bytes);
  });
}
