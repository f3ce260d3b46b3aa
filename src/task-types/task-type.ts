import type { TaskPolicyConfig } from '../config/configuration';
import type { TaskHandler } from './handler.types';
import type { ObjectSchema, ResultSchema, SchemaType } from './payload-schema';

/**
 * A type's own policy: its queue, and whatever it fixes of the rest. What it leaves out comes from
 * the TASK_* variables, as a Celery task's own time_limit wins over task_time_limit.
 */
export type TaskPolicyDefaults = { queue: string } & Partial<TaskPolicyConfig>;

/**
 * Everything a task type is, defined once in its folder under src/task-types/. The registry, the
 * validators, the OpenAPI document and the worker's handler map are all built from these.
 */
export interface TaskTypeDefinition {
  readonly name: string;
  readonly description: string;
  /** Registered only with ENABLE_DIAGNOSTIC_TASKS=true. */
  readonly diagnostic: boolean;
  readonly policy: TaskPolicyDefaults;
  /** The one schema of its payload: compiled into its validator, and its OpenAPI component. */
  readonly payload: ObjectSchema;
  /** What its handler returns, for OpenAPI (GET's `result` when completed). */
  readonly result: ResultSchema;
  /** What the schema cannot say, run on a payload the schema accepted: `path: message` problems. */
  check?(payload: unknown): string[];
  /**
   * Loads its handler. Only a worker's child calls it, with the first task of the type, so neither
   * the API nor a child's start-up loads handler code.
   */
  loadHandler(): TaskHandler;
}

/**
 * Checks a definition against its own schemas (the payload `check` and the handler read the
 * payload schema's type, the handler returns the result schema's), then erases those types for the list.
 */
export function defineTaskType<P extends ObjectSchema, R extends ResultSchema>(definition: {
  name: string;
  description: string;
  diagnostic: boolean;
  policy: TaskPolicyDefaults;
  payload: P;
  result: R;
  check?: (payload: SchemaType<P>) => string[];
  loadHandler: () => TaskHandler<SchemaType<P>, SchemaType<R>>;
}): TaskTypeDefinition {
  return definition as unknown as TaskTypeDefinition;
}
