import type { OpenAPIObject } from '@nestjs/swagger';
import type { TaskType } from '../tasks/task-registry';

type Schema = Record<string, unknown> & { properties?: Record<string, unknown>; required?: string[] };

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
/** `automated_gather_creation` → `AutomatedGatherCreation`, `diagnostic.sleep` → `DiagnosticSleep`. */
const pascal = (name: string) => name.replace(/(?:^|[._-])([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Makes the submit body and the task a client reads typed per task type, from the registry: each
 * type's payload schema (the very object its validator was compiled from) and result schema go
 * under components.schemas, named by their titles, and
 *  - `SubmitTaskDto` (POST /tasks, each item of POST /tasks/batch) becomes a `oneOf` of one
 *    `Submit<Type>` per type, discriminated by `task_name`;
 *  - `TaskStatusDto` (GET /tasks/{id}, the items of GET /tasks) becomes a `oneOf` of one
 *    `<Type>TaskStatus` per type, each `TaskStatusBase` with its `task_name` and `result`.
 * References to the two DTOs keep their names, so every route that uses them is typed too.
 */
export function describeTaskTypes(document: OpenAPIObject, types: TaskType[]): void {
  const schemas = ((document.components ??= {}).schemas ??= {}) as Record<string, Schema>;
  const submit = schemas.SubmitTaskDto;
  const status = schemas.TaskStatusDto;
  if (!submit || !status) throw new Error('OpenAPI: SubmitTaskDto and TaskStatusDto must be in the document before the task types');
  schemas.TaskStatusBase = { ...status, description: 'What every task shows, whatever its type' };
  const submitMapping: Record<string, string> = {};
  const statusMapping: Record<string, string> = {};
  for (const t of types) {
    const base = pascal(t.name);
    const payloadName = t.payload.schema.title ?? `${base}Payload`;
    const resultName = t.result.title;
    schemas[payloadName] = t.payload.schema as unknown as Schema;
    schemas[resultName] = t.result as unknown as Schema;
    const taskName = { type: 'string', enum: [t.name], description: t.description };

    const { payload: _untyped, ...envelope } = submit.properties ?? {};
    const payloadRequired = (t.payload.schema.required ?? []).length > 0;
    schemas[`Submit${base}`] = {
      type: 'object',
      description: `Submits ${t.name}: ${t.description}`,
      properties: { ...envelope, task_name: taskName, payload: ref(payloadName) },
      required: [...new Set([...(submit.required ?? []), 'task_name', ...(payloadRequired ? ['payload'] : [])])],
    };
    submitMapping[t.name] = ref(`Submit${base}`).$ref;

    schemas[`${base}TaskStatus`] = {
      description: `A ${t.name} task`,
      allOf: [
        ref('TaskStatusBase'),
        {
          type: 'object',
          properties: {
            task_name: taskName,
            result: { type: 'object', nullable: true, allOf: [ref(resultName)], description: `What ${t.name} returned, once completed; null until then` },
          },
          required: ['task_name', 'result'],
        },
      ],
    };
    statusMapping[t.name] = ref(`${base}TaskStatus`).$ref;
  }
  schemas.SubmitTaskDto = {
    description: 'A task to submit: its task_name decides the schema of its payload',
    oneOf: Object.values(submitMapping).map(($ref) => ({ $ref })),
    discriminator: { propertyName: 'task_name', mapping: submitMapping },
  };
  schemas.TaskStatusDto = {
    description: 'A task as GET shows it: its task_name decides the schema of its result',
    oneOf: Object.values(statusMapping).map(($ref) => ({ $ref })),
    discriminator: { propertyName: 'task_name', mapping: statusMapping },
  };
}
