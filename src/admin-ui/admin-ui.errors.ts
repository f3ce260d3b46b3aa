import { MethodNotAllowedException } from '@nestjs/common';

/** Any method but GET and HEAD under /admin/queues: the board only reads. */
export class AdminUiReadOnlyError extends MethodNotAllowedException {
  constructor(method: string) {
    super(`Method ${method} not allowed: the job inspection UI is read-only; use the API to cancel tasks`);
  }
}
