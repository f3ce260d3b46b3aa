import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { SERVER_CONFIG } from '../config/config.module';
import { ServerConfig } from '../config/configuration';
import { AuthenticatedRequest } from '../common/api-key';

/** A valid key whose label is not in API_ADMIN_LABELS asked for an operator control. */
export class AdminKeyRequiredError extends ForbiddenException {
  constructor() {
    super('This operation needs an API key whose label is in API_ADMIN_LABELS');
  }
}

/**
 * Pause, resume and bulk cancel: only keys labelled in API_ADMIN_LABELS, or every key when it is
 * not set. The key itself was already checked by the edge (ApiGate), which left its label here.
 */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  private readonly admins: ReadonlySet<string> | null;

  constructor(@Inject(SERVER_CONFIG) server: ServerConfig) {
    this.admins = server.adminLabels ? new Set(server.adminLabels) : null;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.admins) return true;
    const label = context.switchToHttp().getRequest<AuthenticatedRequest>().apiKeyLabel;
    if (label === undefined || !this.admins.has(label)) throw new AdminKeyRequiredError();
    return true;
  }
}
