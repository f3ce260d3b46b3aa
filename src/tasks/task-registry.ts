import { AppConfig } from '../config/configuration';
import { ConfigError } from '../config/config.errors';
import { TASK_TYPES } from '../task-types';
import type { ResultSchema } from '../task-types/payload-schema';
import type { TaskTypeDefinition } from '../task-types/task-type';
import { PayloadCompiler, PayloadValidator } from './payload-validator';
import { TaskPolicy, assertValidPolicy, policyFromConfig } from './task-policy';
import { DuplicateTaskTypeError, InvalidPayloadError, UnknownTaskNameError } from './task.errors';

export interface TaskType {
  name: string;
  queue: string;
  /** Its payload's schema (`payload.schema`) compiled, with the type's own checks after it. */
  payload: PayloadValidator;
  /** What its handler returns, for OpenAPI. */
  result: ResultSchema;
  description: string;
  policy: TaskPolicy;
}

/**
 * The task types this deployment accepts. Built once at start-up; a duplicate name or an invalid
 * policy stops the boot.
 */
export class TaskRegistry {
  private readonly types = new Map<string, TaskType>();

  constructor(types: TaskType[]) {
    for (const t of types) {
      if (this.types.has(t.name)) throw new DuplicateTaskTypeError(`Task type ${t.name} is registered twice`);
      assertValidPolicy(t.name, t.policy);
      this.types.set(t.name, t);
    }
  }

  static fromConfig(config: AppConfig, definitions: readonly TaskTypeDefinition[] = TASK_TYPES): TaskRegistry {
    const enabled = definitions.filter((d) => !d.diagnostic || config.diagnostics.enabled);
    const overrides = config.taskQueues ?? {};
    const unknown = Object.keys(overrides).filter((name) => !enabled.some((d) => d.name === name));
    if (unknown.length) {
      throw new ConfigError('TASK_QUEUE_OVERRIDES', `names task types that are not registered: ${unknown.join(', ')} (registered: ${enabled.map((d) => d.name).join(', ')})`);
    }
    const compiler = new PayloadCompiler();
    return new TaskRegistry(
      enabled.map((d) => {
        const queue = overrides[d.name] ?? d.policy.queue;
        const payload = compiler.compile(d.payload, d.check?.bind(d));
        return { name: d.name, queue, payload, result: d.result, description: d.description, policy: policyFromConfig(queue, config.task, d.policy) };
      }),
    );
  }

  get(name: string): TaskType {
    const t = this.types.get(name);
    if (!t) throw new UnknownTaskNameError(name, this.names());
    return t;
  }

  find(name: string): TaskType | undefined {
    return this.types.get(name);
  }

  names(): string[] {
    return [...this.types.keys()];
  }

  all(): TaskType[] {
    return [...this.types.values()];
  }

  queues(): string[] {
    return [...new Set(this.all().map((t) => t.queue))];
  }

  /**
   * Throws InvalidPayloadError listing what is wrong. The payload is read in place, never copied
   * or changed, and is stored as given: at 100k participants a copy costs more than the parse.
   */
  validatePayload(type: TaskType, payload: unknown): void {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw new InvalidPayloadError(['payload must be a JSON object']);
    }
    const problems = type.payload.validate(payload);
    if (problems.length > 0) throw new InvalidPayloadError(problems);
  }
}
