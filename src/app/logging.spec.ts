import { Writable } from 'node:stream';
import { Params, PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import { infoLogged, logEvent } from '../common/log-event';
import { LogFormat } from '../config/env.schema';
import { runInRequestContext } from '../edge/request-context';
import { SluiceLogger, appLogger, logDestination, pinoOptions } from './logging';

/** A stdout stand-in: a pipe (not a TTY) unless told otherwise. */
function sink(isTTY = false): { out: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  out.isTTY = isTTY;
  return { out, text: () => chunks.join('') };
}

function logger(format: LogFormat, isTTY = false) {
  const s = sink(isTTY);
  return { log: pino(pinoOptions('debug'), logDestination(format, s.out)), text: s.text };
}

describe('logEvent', () => {
  it('writes the fields into the seed-style text and as keys, quoting what would split a field', () => {
    expect(logEvent('Task started', { task_id: 'a1', task_name: 'automated_gather_creation', attempt: 2, skipped: undefined })).toEqual({
      msg: 'Task started task_id=a1 task_name=automated_gather_creation attempt=2',
      task_id: 'a1',
      task_name: 'automated_gather_creation',
      attempt: 2,
    });
    expect(logEvent('Queue error', { error: 'Connection is closed.', path: '/a\nb', color: '\x1b[31m', empty: '' }).msg).toBe(
      'Queue error error="Connection is closed." path="/a\\nb" color="\\u001b[31m" empty=""',
    );
    // A field cannot overwrite the line's own keys.
    expect(logEvent('x', { level: 'forged', msg: 'forged' })).toEqual({ msg: 'x level=forged msg=forged', level_: 'forged', msg_: 'forged' });
  });
});

describe('log lines', () => {
  it('json: time, level in the seed names, msg, context and the event fields as keys', () => {
    const { log, text } = logger('json');
    log.info({ context: 'TaskTransitions', ...logEvent('Task started', { task_id: 't1', task_name: 'n' }) });
    log.warn('careful');
    log.error('broken');
    const [info, warn, error] = text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(Object.keys(info).sort()).toEqual(['context', 'level', 'msg', 'task_id', 'task_name', 'time']);
    expect(info).toMatchObject({ level: 'INFO', context: 'TaskTransitions', msg: 'Task started task_id=t1 task_name=n', task_id: 't1' });
    expect(new Date(info.time as string).toISOString()).toBe(info.time);
    expect([warn.level, error.level]).toEqual(['WARNING', 'ERROR']);
  });

  it('json: a line written while a request is served carries its request id; header secrets are censored', () => {
    const { log, text } = logger('json');
    runInRequestContext('req-42', () => log.info({ headers: { 'x-api-key': 'k-secret', authorization: 'Basic c2VjcmV0', accept: '*/*' } }, 'seen'));
    const line = JSON.parse(text()) as Record<string, unknown>;
    expect(line).toMatchObject({ request_id: 'req-42', headers: { 'x-api-key': '[Redacted]', authorization: '[Redacted]', accept: '*/*' } });
    expect(text()).not.toMatch(/k-secret|c2VjcmV0/);
  });

  it('pretty: `LEVEL: msg` lines, with the request id and an error stack, and no ANSI code on a pipe', () => {
    const { log, text } = logger('pretty');
    log.info({ context: 'X', ...logEvent('Task started', { task_id: 't1' }) });
    runInRequestContext('req-7', () => log.warn('Task retry scheduled task_id=t1'));
    log.error({ err: new Error('boom') }, 'Request failed error=boom');
    const lines = text().split('\n');
    expect(lines.slice(0, 4)).toEqual(['INFO: Task started task_id=t1', 'WARNING: Task retry scheduled task_id=t1 request_id=req-7', 'ERROR: Request failed error=boom', 'Error: boom']);
    expect(lines[4]).toMatch(/^\s*at /);
    expect(text()).not.toContain('\x1b');
  });

  it('pretty: coloured on a terminal', () => {
    const { log, text } = logger('pretty', true);
    log.info('hello');
    expect(text()).toContain('\x1b[');
    expect(text().replace(/\x1b\[[0-9;]*m/g, '')).toBe('INFO: hello\n');
  });
});

describe('SluiceLogger', () => {
  it("moves Nest's module-loading lines to debug and keeps the rest at info", () => {
    const s = sink();
    const params: Params = { pinoHttp: [pinoOptions('info'), logDestination('json', s.out)] };
    const nest = new SluiceLogger(new PinoLogger(params), params);
    nest.log('AppModule dependencies initialized', 'InstanceLoader');
    nest.log('Mapped {/api/v1/tasks, POST} route', 'RouterExplorer');
    nest.log('API listening port=3000', 'Bootstrap');
    const lines = s.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([expect.objectContaining({ level: 'INFO', context: 'Bootstrap', msg: 'API listening port=3000' })]);
  });
});

describe('infoLogged', () => {
  it("is true until the process logger exists, then follows that logger's level", () => {
    expect(infoLogged()).toBe(true);
    appLogger({ logLevel: 'warn', logFormat: 'json' });
    expect(infoLogged()).toBe(false);
    appLogger({ logLevel: 'info', logFormat: 'json' });
    expect(infoLogged()).toBe(true);
    appLogger({ logLevel: 'error', logFormat: 'json' });
    expect(infoLogged()).toBe(false);
  });
});
