/**
 * A route's plugin chain, resolved at snapshot compile time: one entry per plugin name in priority order, holding
 * the instance that applies without a consumer and the consumer-scoped instances that may replace it once an auth
 * plugin has identified the consumer (Kong's precedence, most specific first: route+service+consumer, route+consumer,
 * service+consumer, route+service, consumer, route, service, global).
 */
import type { Logger } from '@turnpike/shared'
import type { PluginHandler } from './types.ts'

/** One enabled plugin instance with its compiled config. */
export interface Instance {
  readonly id: string
  readonly name: string
  readonly config: unknown
  readonly http: boolean
  readonly https: boolean
}

export type ConsumerMap = ReadonlyMap<string, Instance>

export interface ChainEntry {
  readonly name: string
  readonly priority: number
  // biome-ignore lint/suspicious/noExplicitAny: entries hold handlers of every config type
  readonly handler: PluginHandler<any, any>
  readonly log: Logger
  /** The instance without a consumer (route+service, route, service or global), if any. */
  readonly base: Instance | null
  /** Whether `base` is a route+service instance, which outranks a consumer-only one. */
  readonly baseIsRouteService: boolean
  readonly routeServiceConsumer: ConsumerMap | null
  readonly routeConsumer: ConsumerMap | null
  readonly serviceConsumer: ConsumerMap | null
  readonly consumerOnly: ConsumerMap | null
}

export interface Chain {
  readonly entries: readonly ChainEntry[]
  /** Some entry has consumer-scoped instances, so resolution depends on the consumer. */
  readonly consumerScoped: boolean
  readonly rewrite: boolean
  readonly access: boolean
  readonly response: boolean
  readonly body: boolean
  readonly log: boolean
}

export function makeChain(entries: ChainEntry[]): Chain {
  const has = (phase: keyof PluginHandler) => entries.some((e) => e.handler[phase] !== undefined)
  return {
    entries,
    consumerScoped: entries.some(
      (e) => e.routeServiceConsumer || e.routeConsumer || e.serviceConsumer || e.consumerOnly,
    ),
    rewrite: has('rewrite'),
    access: has('access'),
    response: has('response'),
    body: has('body'),
    log: has('log'),
  }
}

/** The instance of `entry` that applies for a consumer (or none), filtered by the request's protocol. */
export function resolveInstance(entry: ChainEntry, consumerId: string | undefined, https: boolean): Instance | null {
  let inst = entry.base
  if (consumerId !== undefined) {
    const specific =
      entry.routeServiceConsumer?.get(consumerId) ??
      entry.routeConsumer?.get(consumerId) ??
      entry.serviceConsumer?.get(consumerId) ??
      (entry.baseIsRouteService ? undefined : entry.consumerOnly?.get(consumerId))
    if (specific) inst = specific
  }
  if (inst === null) return null
  return (https ? inst.https : inst.http) ? inst : null
}
