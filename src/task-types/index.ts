import { AUTOMATED_GATHER_CREATION } from './automated-gather-creation/definition';
import { DIAGNOSTIC_TYPES } from './diagnostic/definitions';
import type { TaskTypeDefinition } from './task-type';

/**
 * Every task type, each defined once in its folder. The registry (and through it the validators and
 * the OpenAPI document) and the worker's handler map are built from this list. It loads schemas
 * only, never handler code: the API imports it, and so does every child at start-up.
 */
export const TASK_TYPES: readonly TaskTypeDefinition[] = [AUTOMATED_GATHER_CREATION, ...DIAGNOSTIC_TYPES];
