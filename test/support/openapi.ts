import type { OpenAPIObject } from '@nestjs/swagger';
import { createApiDocument } from '../../src/api/api.bootstrap';
import { ApiModule } from '../../src/api/api.module';
import { createHttpApp } from '../../src/app/http-app';
import { loadConfig } from '../../src/config/configuration';

/**
 * The API's OpenAPI document as /docs-json serves it, from an app that is built but never
 * initialised: no server listens and nothing waits for Redis (the URL names a port nobody serves).
 */
export async function buildApiDocument(env: Record<string, string> = {}): Promise<OpenAPIObject> {
  const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:1', API_KEYS: 'openapi-document-key-0123', LOG_LEVEL: 'fatal', ...env });
  const app = await createHttpApp(ApiModule.forRoot(config), config);
  try {
    // Through JSON, as a client reads it: no undefined keys, no shared objects.
    return JSON.parse(JSON.stringify(createApiDocument(app, config))) as OpenAPIObject;
  } finally {
    await app.close();
  }
}
