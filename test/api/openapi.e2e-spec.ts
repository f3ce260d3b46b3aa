import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { OpenAPIObject } from '@nestjs/swagger';
import { TASK_TYPES } from '../../src/task-types';
import { buildApiDocument } from '../support/openapi';

jest.setTimeout(60_000);

type Schema = Record<string, any>;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const schemaOf = (doc: OpenAPIObject, name: string): Schema => (doc.components!.schemas as Record<string, Schema>)[name];
const resolve = (doc: OpenAPIObject, r: { $ref: string }): Schema => schemaOf(doc, r.$ref.replace('#/components/schemas/', ''));

/** Every operation of the document, with its method and path. */
function operations(doc: OpenAPIObject): { route: string; op: Schema }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item as Schema).map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, op })));
}

describe('the OpenAPI document, typed per task type', () => {
  let doc: OpenAPIObject;
  let withoutDiagnostics: OpenAPIObject;

  beforeAll(async () => {
    doc = await buildApiDocument({ ENABLE_DIAGNOSTIC_TASKS: 'true' });
    withoutDiagnostics = await buildApiDocument({ ENABLE_DIAGNOSTIC_TASKS: 'false' });
  });

  it('makes the submit body a oneOf per registered type, discriminated by task_name, for POST /tasks and each batch item', () => {
    const body = schemaOf(doc, 'SubmitTaskDto');
    expect(Object.keys(body.discriminator.mapping)).toEqual(TASK_TYPES.map((t) => t.name));
    expect(body.discriminator.propertyName).toBe('task_name');
    expect(body.oneOf).toEqual(Object.values(body.discriminator.mapping).map(($ref) => ({ $ref })));
    for (const t of TASK_TYPES) {
      const variant = resolve(doc, { $ref: body.discriminator.mapping[t.name] });
      expect(variant.properties.task_name).toMatchObject({ type: 'string', enum: [t.name] });
      expect(variant.required).toContain('task_name');
      expect(variant.properties.options).toEqual(ref('SubmitTaskOptionsDto'));
      // The payload component is the very schema its validator was compiled from.
      expect(resolve(doc, variant.properties.payload)).toEqual(JSON.parse(JSON.stringify(t.payload)));
    }
    expect(schemaOf(doc, 'SubmitAutomatedGatherCreation').required).toEqual(['task_name', 'payload']);
    expect(schemaOf(doc, 'SubmitDiagnosticCrash').required).toEqual(['task_name']);
    expect(doc.paths['/api/v1/tasks'].post!.requestBody).toMatchObject({ content: { 'application/json': { schema: ref('SubmitTaskDto') } } });
    expect(schemaOf(doc, 'SubmitBatchDto').properties.tasks.items).toEqual(ref('SubmitTaskDto'));
  });

  it('makes the task GET shows a oneOf per type, discriminated by task_name, with its result schema, for GET /tasks/{id} and the list', () => {
    const task = schemaOf(doc, 'TaskStatusDto');
    expect(task.discriminator.propertyName).toBe('task_name');
    expect(Object.keys(task.discriminator.mapping)).toEqual(TASK_TYPES.map((t) => t.name));
    expect(task.oneOf).toEqual(Object.values(task.discriminator.mapping).map(($ref) => ({ $ref })));
    for (const t of TASK_TYPES) {
      const [base, own] = resolve(doc, { $ref: task.discriminator.mapping[t.name] }).allOf;
      expect(base).toEqual(ref('TaskStatusBase'));
      expect(own.required).toEqual(['task_name', 'result']);
      expect(own.properties.task_name).toMatchObject({ enum: [t.name] });
      expect(own.properties.result).toMatchObject({ type: 'object', nullable: true, allOf: [ref(t.result.title)] });
      expect(schemaOf(doc, t.result.title)).toEqual(JSON.parse(JSON.stringify(t.result)));
    }
    expect(schemaOf(doc, 'TaskStatusBase').properties).toHaveProperty('next_retry_at');
    expect(doc.paths['/api/v1/tasks/{task_id}'].get!.responses['200']).toMatchObject({ content: { 'application/json': { schema: ref('TaskStatusDto') } } });
    expect(schemaOf(doc, 'TaskListDto').properties.items.items).toEqual(ref('TaskStatusDto'));
  });

  it('describes only the registered types: without ENABLE_DIAGNOSTIC_TASKS, automated_gather_creation alone', () => {
    for (const name of ['SubmitTaskDto', 'TaskStatusDto']) expect(Object.keys(schemaOf(withoutDiagnostics, name).discriminator.mapping)).toEqual(['automated_gather_creation']);
    expect(Object.keys(withoutDiagnostics.components!.schemas!).filter((n) => n.startsWith('Diagnostic'))).toEqual([]);
  });

  it('gives every operation a unique camelCase operationId, and the known routes theirs', () => {
    const ids = operations(doc).map(({ route, op }) => [route, op.operationId] as const);
    for (const [route, id] of ids) expect([route, id]).toEqual([route, expect.stringMatching(/^[a-z][a-zA-Z]+$/)]);
    expect(new Set(ids.map(([, id]) => id)).size).toBe(ids.length);
    expect(Object.fromEntries(ids)).toMatchObject({
      'POST /api/v1/tasks': 'submitTask',
      'POST /api/v1/tasks/batch': 'submitTasks',
      'GET /api/v1/tasks': 'listTasks',
      'GET /api/v1/tasks/{task_id}': 'getTask',
      'DELETE /api/v1/tasks/{task_id}': 'cancelTask',
      'GET /api/v1/tasks/metrics': 'getTaskMetrics',
      'GET /api/v1/tasks/health': 'getTaskHealth',
      'GET /health/live': 'getLiveness',
      'GET /health/ready': 'getReadiness',
      'GET /metrics': 'getPrometheusMetrics',
    });
  });

  it('says which routes are open (probes, /metrics) and puts /metrics behind the key with API_METRICS_ACCESS=key', async () => {
    for (const path of ['/health/live', '/health/ready', '/metrics']) expect([path, doc.paths[path].get!.security]).toEqual([path, []]);
    const keyed = await buildApiDocument({ API_METRICS_ACCESS: 'key' });
    expect(keyed.paths['/metrics'].get!.security).toEqual([{ 'api-key': [] }]);
    expect(keyed.paths['/metrics'].get!.responses).toHaveProperty('401');
  });

  it('passes npm run lint:openapi (Redocly, recommended rules) with 0 errors and 0 warnings, offline', () => {
    // Without a network namespace of its own where unshare is missing or not allowed.
    const offline = spawnSync('unshare', ['-n', 'true']).status === 0;
    const command = [process.execPath, '--require', '@swc-node/register', join(__dirname, '..', 'openapi', 'lint-openapi.ts')];
    const run = offline ? spawnSync('unshare', ['-n', ...command], { encoding: 'utf8' }) : spawnSync(command[0], command.slice(1), { encoding: 'utf8' });
    expect(run.stdout).toContain('redocly lint (ENABLE_DIAGNOSTIC_TASKS=false): 0 errors, 0 warnings, 0 ignored');
    expect(run.stdout).toContain('redocly lint (ENABLE_DIAGNOSTIC_TASKS=true): 0 errors, 0 warnings, 0 ignored');
    expect(run.status).toBe(0);
  });
});
