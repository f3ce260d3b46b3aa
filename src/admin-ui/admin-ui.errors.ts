import { ForbiddenException, MethodNotAllowedException } from '@nestjs/common';

/** A board route that Sluice does not act on (only retry, cancel, pause and resume act). */
export class AdminUiReadOnlyError extends MethodNotAllowedException {
  constructor(method: string) {
    super(`Method ${method} not allowed here: the job inspection UI only retries, cancels, pauses and resumes, through Sluice's own API paths`);
  }
}

/** A key whose label is not in API_ADMIN_LABELS pressed a button. */
export class AdminUiForbiddenError extends ForbiddenException {
  constructor() {
    super("The job inspection UI's actions need an API key whose label is in API_ADMIN_LABELS");
  }
}
