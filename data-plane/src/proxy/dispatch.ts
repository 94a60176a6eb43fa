/**
 * The one dispatch every proxied request goes through — plain, with plugins, gRPC and WebSocket upgrades: each try
 * asks the service's backend for a connection (its own host, or the member its upstream's balancer picks), and a
 * retry asks again, so it goes to the next member as in Kong. How each try went is told back to the balancer.
 */
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import type { Connection } from '../backend/service-backend.ts'
import type { HashInput, Member, TryOutcome } from '../balancer/types.ts'
import { clientAddress } from '../http/client-address.ts'
import type { ResponseHooks } from '../pipeline/response-hooks.ts'
import { Exchange } from './exchange.ts'
import { forwardGrpc } from './grpc-exchange.ts'
import type { RequestScope } from './request-scope.ts'
import type { Forward } from './route-request.ts'
import { classifyUpstreamError } from './upstream-errors.ts'
import { proxyUpgrade } from './websocket.ts'

/** One try's connection, and the member it goes to when balanced. */
export interface Try {
  readonly connection: Connection
  readonly member: Member | null
  readonly startedAt: number
}

/** The tries of one request: picks, retries on the next member, reports outcomes; the balancer's hash input. */
export class Tries implements HashInput {
  readonly #scope: RequestScope
  readonly #forward: Forward
  readonly #consumerId: () => string | undefined
  #tried: Member[] | null = null
  /** The Host the upstream request carries while it is ours to set (null: the client's or a plugin's). */
  #host: string | null
  /** A cookie for `hash_on = cookie`, set on the response when the request came without one. */
  setCookie: string | undefined
  count = 0

  constructor(scope: RequestScope, forward: Forward, consumerId: () => string | undefined = noConsumer) {
    this.#scope = scope
    this.#forward = forward
    this.#consumerId = consumerId
    this.#host = forward.defaultHost
  }

  /** The next try's connection, or undefined when the balancer has no member left to offer (Kong's 503). */
  next(): Try | undefined {
    this.count++
    const backend = this.#forward.backend
    const fixed = backend.fixed
    if (fixed) return { connection: fixed, member: null, startedAt: performance.now() }
    const pick = backend.upstream!.balancer.pick(this, this.#tried)
    if (pick === undefined) return undefined
    const member = pick.member
    if (this.#tried === null) this.#tried = [member]
    else this.#tried.push(member)
    if (pick.setCookie !== undefined) {
      const row = backend.upstream!.row
      this.setCookie = `${row.hash_on_cookie}=${pick.setCookie}; Path=${row.hash_on_cookie_path}; SameSite=Lax; HttpOnly`
    }
    const connection = backend.connectionFor(member)
    if (this.#host !== null && this.#host !== connection.peer.hostHeader)
      this.#host = replaceHost(this.#forward.options.headers as string[], this.#host, connection.peer.hostHeader)
    return { connection, member, startedAt: performance.now() }
  }

  /** Ends a try with the upstream's status, or with the error that ended it. */
  end(t: Try, result: number | Error): void {
    if (t.member === null) return
    const outcome: TryOutcome = typeof result === 'number' ? { kind: 'response', status: result } : failureOf(result)
    this.#forward.backend.upstream!.balancer.done(t.member, outcome, performance.now() - t.startedAt)
  }

  // HashInput: the request facts consistent hashing reads, each only when the upstream hashes on it.
  consumerId(): string | undefined {
    return this.#consumerId()
  }

  clientIp(): string {
    return clientAddress(this.#scope.req)
  }

  header(name: string): string | undefined {
    const v = this.#scope.req.headers[name.toLowerCase()]
    return Array.isArray(v) ? v.join(',') : v
  }

  cookie(name: string): string | undefined {
    return cookieValue(this.#scope.req.headers.cookie, name)
  }

  path(): string {
    return this.#scope.path ?? '/'
  }

  queryArg(name: string): string | undefined {
    return new URLSearchParams(this.#scope.query).get(name) ?? undefined
  }

  uriCapture(name: string): string | undefined {
    return this.#forward.match.uriCaptures?.[name]
  }
}

const noConsumer = () => undefined

function failureOf(err: Error): TryOutcome {
  const f = classifyUpstreamError(err)
  return f.status === 504 ? { kind: 'timeout' } : { kind: 'tcp_failure' }
}

/**
 * Puts `host` in the Host entry of a flat header list if it still holds `expected` (a plugin may have set another,
 * which then stays); returns what Host we may set from now on, null once it is not ours.
 */
function replaceHost(list: string[], expected: string, host: string): string | null {
  for (let i = 0; i < list.length; i += 2)
    if (list[i]!.length === 4 && list[i]!.toLowerCase() === 'host') {
      if (list[i + 1] !== expected) return null
      list[i + 1] = host
      return host
    }
  return null
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** Sends a routed request on its way: an upgrade is tunnelled, gRPC goes over HTTP/2, the rest through undici. */
export function dispatch(
  scope: RequestScope,
  forward: Forward,
  hooks: ResponseHooks | null,
  consumerId?: () => string | undefined,
): void {
  const tries = new Tries(scope, forward, consumerId)
  if (scope.upgrade !== null) {
    proxyUpgrade(scope, forward, tries)
    return
  }
  const res = scope.res!
  if (forward.backend.settings.grpc && scope.req.httpVersionMajor === 2) {
    // gRPC keeps its own exchange: plugins see its requests and logs, not its responses.
    forwardGrpc(
      scope.req as unknown as Http2ServerRequest,
      res as unknown as Http2ServerResponse,
      scope,
      forward,
      tries,
    )
    return
  }
  new Exchange(scope, forward, tries, hooks).start()
}
