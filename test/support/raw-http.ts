import { request as httpRequest } from 'node:http';
import { Socket, connect } from 'node:net';
import { AddressInfo } from 'node:net';
import { NestFastifyApplication } from '@nestjs/platform-fastify';

/** Listens on a free loopback port (supertest would do it per request); returns the port. */
/** The app's loopback port, listening on a free one first unless it already listens (a Stack's API does). */
export async function listenLocal(app: NestFastifyApplication): Promise<number> {
  if (!app.getHttpServer().listening) await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.getHttpServer().address() as AddressInfo).port;
}

export interface TimedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** From the first byte written to the response's status line. */
  ms: number;
}

/** One request with a body written at once, timed to its response (the body may still be in flight). */
export function timedRequest(port: number, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<TimedResponse> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms }));
      res.on('error', reject);
    });
    // The server may answer and close before the whole body is written: that is the point.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    req.end(body);
  });
}

/** A raw socket that writes `text` and collects whatever comes back until the server closes it. */
export function rawExchange(port: number, text: string): { socket: Socket; closed: Promise<{ reply: string; ms: number }> } {
  const socket = connect(port, '127.0.0.1');
  const started = Date.now();
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.write(text);
  const closed = new Promise<{ reply: string; ms: number }>((resolve) => {
    socket.on('close', () => resolve({ reply: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started }));
    socket.on('error', () => undefined);
  });
  return { socket, closed };
}

/**
 * A client that writes its whole request, body included, before it reads anything, as Python's
 * http.client and Java's HttpURLConnection do; then the answer, until the server closes. `error` is
 * set when writing failed (EPIPE, ECONNRESET): the server reset the connection under the body.
 */
export function sendWholeThenRead(port: number, head: string, bodyBytes: number): Promise<{ reply: string; error?: string; ms: number }> {
  const socket = connect(port, '127.0.0.1');
  const started = Date.now();
  const chunks: Buffer[] = [];
  let error: string | undefined;
  socket.pause();
  socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
  socket.write(head);
  // Then it has nothing more to send: half-closed, so a kept-alive connection ends after the answer.
  socket.end(Buffer.alloc(bodyBytes, ' '), () => {
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.resume();
  });
  return new Promise((resolve) => socket.on('close', () => resolve({ reply: Buffer.concat(chunks).toString('utf8'), error, ms: Date.now() - started })));
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Requests with a body of `bodyBytes`, one after another, from a Node process of its own, so that
 * the sender's work (writing megabytes) is not timed on the server's event loop, as for a real
 * remote client. It stops once `wanted` responses have arrived, or after `maxAttempts`. The body is
 * written in chunks, and no more once the response is in; then the sender hangs up.
 *
 * Each request asks to keep its connection alive, as curl and browsers do. Node's own client with
 * `agent: false` asks to close it instead, and to such a request a server that answers before the
 * body and then closes sends a reset (the body's unread bytes are still in its socket), which often
 * reaches the client before it has read the answer: the attempt then has status 0. Kept alive, the
 * server reads the rest of the body and throws it away, unparsed, after it has answered.
 */
export async function timedRequestsFromChild(
  port: number,
  wanted: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  bodyBytes: number,
  maxAttempts = wanted * 3,
): Promise<TimedResponse[]> {
  const script = `
    const http = require('node:http');
    const [port, wanted, maxAttempts, method, path, headers, bytes] = JSON.parse(process.argv[1]);
    const chunk = Buffer.alloc(256 * 1024, 'x');
    const one = () => new Promise((resolve) => {
      const started = process.hrtime.bigint();
      const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
      let answered = false;
      const req = http.request({ host: '127.0.0.1', port, method, path, agent: false,
        headers: { connection: 'keep-alive', ...headers, 'content-length': String(bytes) } }, (res) => {
        answered = true;
        const ms = elapsed();
        let text = '';
        const done = () => { req.destroy(); resolve({ status: res.statusCode, headers: res.headers, body: text, ms }); };
        res.on('data', (c) => (text += c));
        res.on('end', done);
        res.on('error', done);
      });
      req.on('error', (e) => { if (!answered) resolve({ status: 0, headers: {}, body: e.code || e.message, ms: elapsed() }); });
      let sent = 0;
      const write = () => {
        while (!answered && sent < bytes) {
          const n = Math.min(chunk.length, bytes - sent);
          sent += n;
          if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return req.once('drain', write);
        }
        if (sent >= bytes) req.end();
      };
      write();
    });
    (async () => {
      const out = [];
      for (let i = 0; i < maxAttempts && out.filter((r) => r.status !== 0).length < wanted; i++) out.push(await one());
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { process.stderr.write(String((e && e.stack) || e)); process.exit(1); });
  `;
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script, JSON.stringify([port, wanted, maxAttempts, method, path, headers, bodyBytes])], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(err);
      else if (!stdout) reject(new Error(`the sender printed nothing; stderr: ${stderr}`));
      else resolve(JSON.parse(stdout) as TimedResponse[]);
    });
  });
}
