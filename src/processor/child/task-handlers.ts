import { TASK_TYPES } from '../../task-types';
import type { TaskHandler } from '../../task-types/handler.types';
import type { TaskTypeDefinition } from '../../task-types/task-type';

/**
 * The handler of every task type, as a child runs it. Each is loaded with the first task of its
 * type, not when the child starts: children are recycled every WORKER_MAX_TASKS_PER_CHILD tasks, so
 * their start-up is paid often, and most never run most types.
 */
export function taskHandlers(types: readonly TaskTypeDefinition[] = TASK_TYPES): Record<string, TaskHandler> {
  return Object.fromEntries(
    types.map((type) => {
      let handler: TaskHandler | undefined;
      return [type.name, { run: (payload, ctx) => (handler ??= type.loadHandler()).run(payload, ctx) } satisfies TaskHandler];
    }),
  );
}
