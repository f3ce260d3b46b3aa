import { ChildProcess, spawn } from 'node:child_process';

/**
 * Senders of big bodies in a process of their own, so that their writes do not block the harness's
 * event loop and the latencies it measures meanwhile are the server's. Each of `senders` POSTs
 * `bytes` with `headers` in a loop, streaming the body in chunks, until the process is told to stop
 * (SIGTERM); it then prints `{"refused": <401 answers>, "other": <anything else>}`.
 */
const SCRIPT = `
  const http = require('node:http');
  const [port, path, headers, bytes, senders] = JSON.parse(process.argv[1]);
  const chunk = Buffer.alloc(256 * 1024, ' ');
  let stop = false, refused = 0, other = 0;
  const one = () => new Promise((resolve) => {
    let answered = false;
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, agent: false,
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(bytes) } }, (res) => {
      answered = true;
      if (res.statusCode === 401) refused++; else other++;
      res.resume();
      res.on('end', resolve);
      res.on('error', resolve);
    });
    req.on('error', () => { if (!answered) other++; resolve(); });
    let sent = 0;
    const write = () => {
      while (!answered && sent < bytes) {
        const n = Math.min(chunk.length, bytes - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return req.once('drain', write);
      }
      req.end();
    };
    write();
  });
  const loop = async () => { while (!stop) await one(); };
  process.on('SIGTERM', () => { stop = true; });
  process.stdout.write('ready\\n');
  Promise.all(Array.from({ length: senders }, loop)).then(() => process.stdout.write(JSON.stringify({ refused, other }) + '\\n'));
`;

export interface Flood {
  /** Stops the senders once their requests in flight end; their counts. */
  stop(): Promise<{ refused: number; other: number }>;
}

export async function startFlood(port: number, path: string, headers: Record<string, string>, bytes: number, senders: number): Promise<Flood> {
  const child: ChildProcess = spawn(process.execPath, ['-e', SCRIPT, JSON.stringify([port, path, headers, bytes, senders])], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const check = () => (out.includes('ready\n') ? resolve() : undefined);
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`flood senders exited early, code ${code}`)));
  });
  return {
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
      const last = out.trim().split('\n').at(-1) ?? '{}';
      return JSON.parse(last.startsWith('{') ? last : '{"refused":0,"other":0}') as { refused: number; other: number };
    },
  };
}
