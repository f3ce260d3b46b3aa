import type { OpenAPIObject } from '@nestjs/swagger';
import type { TaskType } from '../tasks/task-registry';

/**
 * Puts each registered type's payload schema, the very object its validator was compiled from,
 * under components.schemas (named by its title), and points SubmitTaskDto.payload at them.
 */
export function describeTaskPayloads(document: OpenAPIObject, types: TaskType[]): void {
  const schemas = (document.components ??= {}).schemas ??= {};
  const refs = types.map((t) => {
    const name = t.payload.schema.title ?? `${t.name}.payload`;
    schemas[name] = t.payload.schema as never;
    return { name, taskName: t.name };
  });
  const submit = schemas.SubmitTaskDto as { properties?: Record<string, Record<string, unknown>> } | undefined;
  const payload = submit?.properties?.payload;
  if (!payload) return;
  payload.anyOf = refs.map((r) => ({ $ref: `#/components/schemas/${r.name}` }));
  payload.description = `${String(payload.description ?? '')}: ${refs.map((r) => `${r.taskName} takes ${r.name}`).join(', ')}`;
}
