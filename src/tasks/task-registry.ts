import { Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { AppConfig } from '../config/configuration';
import { ConfigError } from '../config/config.errors';
import { TASK_DEFINITIONS, TaskDefinition } from './task-definitions';
import { TaskPolicy, assertValidPolicy, policyFromConfig } from './task-policy';
import { DuplicateTaskTypeError, InvalidPayloadError, UnknownTaskNameError } from './task.errors';
import { formatValidationErrors } from './validation.util';

export interface TaskType {
  name: string;
  queue: string;
  payload: Type<object>;
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

  static fromConfig(config: AppConfig, definitions: readonly TaskDefinition[] = TASK_DEFINITIONS): TaskRegistry {
    const enabled = definitions.filter((d) => !d.diagnostic || config.diagnostics.enabled);
    const overrides = config.taskQueues ?? {};
    const unknown = Object.keys(overrides).filter((name) => !enabled.some((d) => d.name === name));
    if (unknown.length) {
      throw new ConfigError('TASK_QUEUE_OVERRIDES', `names task types that are not registered: ${unknown.join(', ')} (registered: ${enabled.map((d) => d.name).join(', ')})`);
    }
    return new TaskRegistry(
      enabled.map((d) => {
        const queue = overrides[d.name] ?? d.queue;
        return { name: d.name, queue, payload: d.payload, description: d.description, policy: policyFromConfig(queue, config.task) };
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

  /** Throws InvalidPayloadError listing what is wrong; the payload itself is stored as given. */
  validatePayload(type: TaskType, payload: unknown): void {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      throw new InvalidPayloadError(['payload must be a JSON object']);
    }
    const instance = plainToInstance(type.payload, payload);
    const errors = validateSync(instance, {
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: false,
      stopAtFirstError: true,
    });
    if (errors.length > 0) throw new InvalidPayloadError(formatValidationErrors(errors, 'payload'));
  }
}
