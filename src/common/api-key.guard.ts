import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { SERVER_CONFIG } from '../config/config.module';
import { ServerConfig } from '../config/configuration';

export const API_KEY_HEADER = 'x-api-key';
export const API_KEY_SCHEME = 'api-key';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Compares digests in constant time, against every key without stopping early, so neither the
 * key's length nor which key matched can be learnt from timing.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly digests: Buffer[];

  constructor(@Inject(SERVER_CONFIG) server: ServerConfig) {
    this.digests = server.apiKeys.map(digest);
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>().headers[
      API_KEY_HEADER
    ];
    const given = typeof header === 'string' ? digest(header) : undefined;
    let ok = false;
    for (const d of this.digests) ok = (given !== undefined && timingSafeEqual(d, given)) || ok;
    if (!ok) throw new UnauthorizedException('Invalid or missing API key');
    return true;
  }
}
