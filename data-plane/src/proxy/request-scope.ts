/**
 * One request's scope, built once when it arrives: what every later step (routing, plugins, dispatch, answers)
 * reads, so the target is parsed once and nothing is passed around in long argument lists.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { CompiledConfig } from '../runtime/compiled-config.ts'
import type { ProxyEnv } from './proxy-env.ts'

export interface RequestScope {
  readonly req: IncomingMessage
  /** The response; null for an Upgrade request, whose answer goes on `upgrade.socket`. */
  readonly res: ServerResponse | null
  readonly upgrade: { readonly socket: Duplex; readonly head: Buffer } | null
  readonly scheme: 'http' | 'https'
  /** performance.now() at arrival. */
  readonly startedAt: number
  readonly requestId: string
  readonly env: ProxyEnv
  /** The config leased for this request. */
  readonly config: CompiledConfig
  /** The request target's path, as received (origin-form; absolute-form reduced to its path); null when malformed. */
  readonly path: string | null
  /** The raw query without `?` ('' when none). */
  readonly query: string
}

/** Splits the request target into path and query; absolute-form targets are reduced to their path. */
export function splitTarget(url: string): { path: string | null; query: string } {
  if (url.charCodeAt(0) !== 0x2f) {
    if (!/^https?:\/\//i.test(url)) return { path: null, query: '' }
    const slash = url.indexOf('/', url.indexOf('//') + 2)
    url = slash === -1 ? '/' : url.slice(slash)
  }
  const q = url.indexOf('?')
  return q === -1 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) }
}

export function requestScope(
  req: IncomingMessage,
  res: ServerResponse | null,
  upgrade: RequestScope['upgrade'],
  scheme: 'http' | 'https',
  startedAt: number,
  requestId: string,
  env: ProxyEnv,
  config: CompiledConfig,
): RequestScope {
  const { path, query } = splitTarget(req.url ?? '/')
  return { req, res, upgrade, scheme, startedAt, requestId, env, config, path, query }
}
