import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A webhook receiver on loopback that answers each request with the next of `plan` (then 200). */
export class WebhookReceiver {
  readonly received: Received[] = [];
  plan: (number | 'hang' | { redirect: string })[] = [];
  private server!: Server;

  async start(): Promise<number> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.received.push({ path: req.url ?? '', headers: req.headers, body });
        const next = this.plan.shift() ?? 200;
        if (next === 'hang') return;
        if (typeof next === 'object') {
          res.writeHead(302, { location: next.redirect }).end();
          return;
        }
        res.writeHead(next, { 'content-type': 'text/plain' }).end(next === 200 ? 'ok' : `status ${next}`);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  on(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
