interface Route {
  pattern: RegExp;
  methods: Set<string>;
}

/** A route URL as Fastify declares it (`/a/:id`, `/static/*`) as a regular expression for a path. */
function compile(url: string): RegExp {
  const source = url
    .split(/(:[A-Za-z0-9_]+|\*)/)
    .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

/**
 * The methods each route path answers, collected from Fastify's onRoute hook, so that a known path
 * called with another method gets 405 with `Allow` rather than the router's 404.
 */
export class RouteTable {
  private readonly routes = new Map<string, Route>();

  add(url: string, methods: string | string[]): void {
    const route = this.routes.get(url) ?? { pattern: compile(url), methods: new Set<string>() };
    for (const m of Array.isArray(methods) ? methods : [methods]) route.methods.add(m.toUpperCase());
    this.routes.set(url, route);
  }

  /** Every method some route answers at `path`, sorted; empty for an unknown path. */
  allowedMethods(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.routes.values()) if (route.pattern.test(path)) for (const m of route.methods) methods.add(m);
    return [...methods].sort();
  }
}
