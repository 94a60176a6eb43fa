/**
 * Compiles a snapshot's plugins into per-route chains, off the hot path: each instance is validated against its
 * definition (defaults filled) and compiled by its handler once; routes with the same plugins share one chain.
 * A snapshot without enabled plugins compiles to null, so the proxy keeps its plugin-free path.
 */
import {
  type ConfigEntities,
  type EntityRow,
  flattenErrors,
  type Logger,
  type PluginDef,
  pluginByName,
  validatePluginConfig,
} from '@turnpike/shared'
import { handlerFor } from '../plugins/registry.ts'
import type { RouteRow } from '../runtime/entity-rows.ts'
import { type Chain, type ChainEntry, type ConsumerMap, type Instance, makeChain } from './chain.ts'
import { ConsumerIndex, foreignId } from './consumers.ts'
import type { CompileEnv } from './types.ts'

export interface Pipeline {
  /** Global plugins with a rewrite handler, run before routing; null when none. */
  readonly rewrite: Chain | null
  /** Global plugins' response and log handlers for requests no route took (404 and other gateway answers). */
  readonly unrouted: Chain | null
  readonly consumers: ConsumerIndex
  /** The chain of a route; undefined when no plugin applies to it. */
  chainFor(routeId: string): Chain | undefined
  readonly stats: { instances: number; routes_with_plugins: number; chains: number }
}

export interface PipelineInput {
  entities: ConfigEntities
  /** The snapshot's per-collection hashes: unchanged collections let shared compiled state carry over. */
  partHashes?: Readonly<Record<string, string>>
  /** The routes the router serves. */
  routes: readonly RouteRow[]
  logger: Logger
}

type NameMap<T> = Map<string, T>

function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key)
  if (v === undefined) {
    v = make()
    map.set(key, v)
  }
  return v
}

/** Per-snapshot shared state, kept for the next snapshot when its dependencies' part hashes are unchanged. */
let previousShared = new Map<string, { deps: string; value: unknown }>()

/** Compiled state from previous snapshots is dropped (tests that reuse ids with different content). */
export function resetSharedCompileState(): void {
  previousShared = new Map()
}

class SharedState {
  readonly #partHashes: Readonly<Record<string, string>> | undefined
  readonly next = new Map<string, { deps: string; value: unknown }>()

  constructor(partHashes: Readonly<Record<string, string>> | undefined) {
    this.#partHashes = partHashes
  }

  get<T>(key: string, deps: readonly string[] | null, build: () => T): T {
    const current = this.next.get(key)
    if (current) return current.value as T
    const depKey = deps !== null && this.#partHashes ? deps.map((d) => this.#partHashes?.[d] ?? '-').join(':') : null
    const prev = depKey === null ? undefined : previousShared.get(key)
    const value = prev && prev.deps === depKey ? (prev.value as T) : build()
    // A NUL never appears in joined hashes, so an unshared value is never taken for a shared one.
    this.next.set(key, { deps: depKey ?? '\0', value })
    return value
  }
}

interface Scopes {
  global: NameMap<Instance>
  service: Map<string, NameMap<Instance>>
  route: Map<string, NameMap<Instance>>
  routeService: Map<string, NameMap<Instance>>
  consumer: NameMap<Map<string, Instance>>
  serviceConsumer: Map<string, NameMap<Map<string, Instance>>>
  routeConsumer: Map<string, NameMap<Map<string, Instance>>>
  routeServiceConsumer: Map<string, NameMap<Map<string, Instance>>>
}

function describe(row: EntityRow): string {
  return `plugins[${row.id}] (${String(row.name)})`
}

/** Validates and compiles one instance; throws with a message naming the instance. */
function compileInstance(
  row: EntityRow,
  def: PluginDef,
  env: Omit<CompileEnv, 'instance'>,
  scope: CompileEnv['instance'],
): Instance {
  const validated = validatePluginConfig(def.name, row.config ?? {})
  if (!validated.ok) throw new Error(`${describe(row)}: ${flattenErrors(validated.errors).join('; ')}`)
  const handler = handlerFor(def.name)
  if (!handler) throw new Error(`${describe(row)}: no handler for plugin '${def.name}' on this data plane`)
  let config: unknown = validated.value
  if (handler.compile) {
    try {
      config = handler.compile(validated.value, { ...env, instance: scope })
    } catch (err) {
      throw new Error(`${describe(row)}: ${(err as Error).message}`)
    }
  }
  const protocols = Array.isArray(row.protocols) ? (row.protocols as string[]) : def.protocols.default
  return {
    id: row.id,
    name: def.name,
    config,
    http: protocols.includes('http'),
    https: protocols.includes('https'),
  }
}

function place(scopes: Scopes, inst: Instance, s: CompileEnv['instance'], routes: ReadonlyMap<string, RouteRow>) {
  const { route_id: r, service_id: sv, consumer_id: c } = s
  // A route+service instance applies only where that route belongs to that service.
  if (r !== null && sv !== null && routes.get(r)?.service_id !== sv) return
  const name = inst.name
  if (c === null) {
    if (r !== null && sv !== null) getOrCreate(scopes.routeService, r, () => new Map()).set(name, inst)
    else if (r !== null) getOrCreate(scopes.route, r, () => new Map()).set(name, inst)
    else if (sv !== null) getOrCreate(scopes.service, sv, () => new Map()).set(name, inst)
    else scopes.global.set(name, inst)
    return
  }
  const byName =
    r !== null && sv !== null
      ? getOrCreate(scopes.routeServiceConsumer, r, () => new Map())
      : r !== null
        ? getOrCreate(scopes.routeConsumer, r, () => new Map())
        : sv !== null
          ? getOrCreate(scopes.serviceConsumer, sv, () => new Map())
          : scopes.consumer
  getOrCreate(byName, name, () => new Map()).set(c, inst)
}

/** Builds chains per route; returns null when the snapshot has no enabled plugin instance. */
export function compilePipeline(input: PipelineInput): Pipeline | null {
  const rows = (input.entities.plugins ?? []).filter((p) => p.enabled !== false)
  if (rows.length === 0) return null
  const shared = new SharedState(input.partHashes)
  const consumers = shared.get('consumers', ['consumers', 'acls'], () => new ConsumerIndex(input.entities))
  const env: Omit<CompileEnv, 'instance'> = {
    entities: input.entities,
    consumers,
    logger: input.logger,
    shared: (key, deps, build) => shared.get(key, deps, build),
  }
  const routes = new Map(input.routes.map((r) => [r.id, r]))
  const scopes: Scopes = {
    global: new Map(),
    service: new Map(),
    route: new Map(),
    routeService: new Map(),
    consumer: new Map(),
    serviceConsumer: new Map(),
    routeConsumer: new Map(),
    routeServiceConsumer: new Map(),
  }
  const defs = new Map<string, PluginDef>()
  for (const row of rows) {
    const name = String(row.name)
    const def = pluginByName(name)
    if (!def) throw new Error(`${describe(row)}: plugin '${name}' is not known to this data plane`)
    defs.set(name, def)
    const scope = {
      id: row.id,
      route_id: foreignId(row, 'route') ?? null,
      service_id: foreignId(row, 'service') ?? null,
      consumer_id: foreignId(row, 'consumer') ?? null,
    }
    place(scopes, compileInstance(row, def, env, scope), scope, routes)
  }

  const loggers = new Map<string, Logger>()
  const loggerFor = (name: string) => getOrCreate(loggers, name, () => input.logger.child({ plugin: name }))
  // Consumer maps are shared objects; chains holding the same ones (and the same bases) are one chain.
  const mapIds = new Map<ConsumerMap, number>()
  const mapId = (m: ConsumerMap | null) => (m ? getOrCreate(mapIds, m, () => mapIds.size + 1) : 0)

  const entry = (
    name: string,
    base: Instance | null,
    baseIsRouteService: boolean,
    maps: Pick<ChainEntry, 'routeServiceConsumer' | 'routeConsumer' | 'serviceConsumer' | 'consumerOnly'>,
  ): ChainEntry => {
    const def = defs.get(name)!
    return {
      name,
      priority: def.priority,
      handler: handlerFor(name)!,
      log: loggerFor(name),
      base,
      baseIsRouteService,
      ...maps,
    }
  }
  const order = (a: ChainEntry, b: ChainEntry) => b.priority - a.priority || (a.name < b.name ? -1 : 1)

  const byRoute = new Map<string, Chain>()
  const chains = new Map<string, Chain>()
  for (const route of input.routes) {
    const r = route.id
    const sv = route.service_id
    const rs = scopes.routeService.get(r)
    const ro = scopes.route.get(r)
    const so = sv === null ? undefined : scopes.service.get(sv)
    const rsc = scopes.routeServiceConsumer.get(r)
    const rc = scopes.routeConsumer.get(r)
    const sc = sv === null ? undefined : scopes.serviceConsumer.get(sv)
    const names = new Set<string>(scopes.global.keys())
    for (const m of [rs, ro, so, rsc, rc, sc, scopes.consumer]) if (m) for (const n of m.keys()) names.add(n)
    const entries: ChainEntry[] = []
    let anyBase = false
    for (const name of names) {
      const base = rs?.get(name) ?? ro?.get(name) ?? so?.get(name) ?? scopes.global.get(name) ?? null
      anyBase ||= base !== null
      entries.push(
        entry(name, base, base !== null && base === rs?.get(name), {
          routeServiceConsumer: rsc?.get(name) ?? null,
          routeConsumer: rc?.get(name) ?? null,
          serviceConsumer: sc?.get(name) ?? null,
          consumerOnly: scopes.consumer.get(name) ?? null,
        }),
      )
    }
    // Consumer-scoped instances alone never apply: only an auth plugin (never consumer-scoped) identifies one.
    if (!anyBase) continue
    entries.sort(order)
    const signature = entries
      .map(
        (e) =>
          `${e.name}:${e.base?.id ?? '-'}:${mapId(e.routeServiceConsumer)}:${mapId(e.routeConsumer)}:${mapId(e.serviceConsumer)}:${mapId(e.consumerOnly)}`,
      )
      .join('|')
    byRoute.set(
      r,
      getOrCreate(chains, signature, () => makeChain(entries)),
    )
  }

  const globals = [...scopes.global.values()].map((inst) =>
    entry(inst.name, inst, false, {
      routeServiceConsumer: null,
      routeConsumer: null,
      serviceConsumer: null,
      consumerOnly: null,
    }),
  )
  globals.sort(order)
  const rewrite = globals.filter((e) => e.handler.rewrite)
  const unrouted = globals.filter((e) => e.handler.response || e.handler.log)

  previousShared = shared.next
  return {
    rewrite: rewrite.length ? makeChain(rewrite) : null,
    unrouted: unrouted.length ? makeChain(unrouted) : null,
    consumers,
    chainFor: (routeId) => byRoute.get(routeId),
    stats: { instances: rows.length, routes_with_plugins: byRoute.size, chains: chains.size },
  }
}
