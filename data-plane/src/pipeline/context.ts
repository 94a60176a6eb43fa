/** The per-request context handlers receive; allocated only for requests whose route has plugins. */
import type { IncomingMessage } from 'node:http'
import type { Logger } from '@turnpike/shared'
import { defaultMessage } from '../http/messages.ts'
import { nextRequestId as newRequestId } from '../http/request-id.ts'
import type { RouteRow, ServiceRow } from '../runtime/entity-rows.ts'
import { type Chain, type ChainEntry, type Instance, resolveInstance } from './chain.ts'
import type { ConsumerIndex, ConsumerRow } from './consumers.ts'
import { RequestView } from './request-view.ts'
import { ResponseState } from './response-state.ts'
import type { AuthCredential, PluginContext, PluginResponse } from './types.ts'
import { UpstreamChanges } from './upstream-changes.ts'

/** Upstream identity headers (Kong's constants.HEADERS). */
export const IDENTITY_HEADERS = {
  consumerId: 'X-Consumer-ID',
  consumerCustomId: 'X-Consumer-Custom-ID',
  consumerUsername: 'X-Consumer-Username',
  credentialIdentifier: 'X-Credential-Identifier',
  anonymous: 'X-Anonymous-Consumer',
  consumerGroups: 'X-Consumer-Groups',
  authenticatedGroups: 'X-Authenticated-Groups',
} as const

export class RequestContext implements PluginContext {
  readonly request: RequestView
  readonly upstream: UpstreamChanges
  readonly response: ResponseState
  readonly consumers: ConsumerIndex
  readonly startedAt: number
  readonly startedAtEpoch: number
  readonly #logger: Logger
  route: RouteRow | undefined
  service: ServiceRow | undefined
  consumer: ConsumerRow | undefined
  credential: AuthCredential | undefined
  authenticatedGroups: readonly string[] | undefined
  /** The chain being run and the entry whose handler is running. */
  chain: Chain | undefined
  #entry: ChainEntry | undefined
  #shared: Record<string, unknown> | undefined
  #pluginData: Map<string, Record<string, unknown>> | undefined
  #requestId: string | undefined
  /** Instances resolved in the access phase, per entry index (consumer-scoped chains only). */
  #picked: (Instance | null | undefined)[] | undefined
  #pickedFor: Chain | undefined

  constructor(
    req: IncomingMessage,
    scheme: 'http' | 'https',
    path: string,
    rawQuery: string,
    startedAt: number,
    consumers: ConsumerIndex,
    logger: Logger,
  ) {
    this.request = new RequestView(req, scheme, path, rawQuery)
    this.upstream = new UpstreamChanges(req.headers, this.request.method, path, rawQuery)
    this.response = new ResponseState(startedAt)
    this.consumers = consumers
    this.startedAt = startedAt
    this.startedAtEpoch = Date.now() - (performance.now() - startedAt)
    this.#logger = logger
  }

  /** The id the proxy minted for this request, if any. */
  requestIdHint: string | undefined

  get requestId(): string {
    this.#requestId ??= this.requestIdHint ?? newRequestId()
    return this.#requestId
  }

  get shared(): Record<string, unknown> {
    this.#shared ??= {}
    return this.#shared
  }

  get plugin(): Record<string, unknown> {
    const name = this.#entry?.name ?? ''
    this.#pluginData ??= new Map()
    let data = this.#pluginData.get(name)
    if (data === undefined) {
      data = {}
      this.#pluginData.set(name, data)
    }
    return data
  }

  get log(): Logger {
    return this.#entry?.log ?? this.#logger
  }

  /** Marks which entry runs now (for `plugin` and `log`). */
  enter(chain: Chain, index: number): void {
    this.chain = chain
    this.#entry = chain.entries[index]
  }

  /**
   * The instance of entry `index` for this request. The first resolution sticks (Kong resolves a plugin's config
   * once, when the access phase reaches it, and reuses it in later phases).
   */
  instanceAt(chain: Chain, index: number): Instance | null {
    const entry = chain.entries[index]
    const https = this.request.scheme === 'https'
    if (!chain.consumerScoped) return resolveInstance(entry, undefined, https)
    if (this.#pickedFor !== chain) {
      this.#picked = new Array(chain.entries.length)
      this.#pickedFor = chain
    }
    const picked = this.#picked!
    let inst = picked[index]
    if (inst === undefined) {
      inst = resolveInstance(entry, this.consumer?.id, https)
      picked[index] = inst
    }
    return inst
  }

  authenticate(consumer: ConsumerRow | undefined, credential: AuthCredential | undefined): void {
    this.consumer = consumer
    this.credential = credential
    const up = this.upstream
    const h = IDENTITY_HEADERS
    if (consumer) up.setHeader(h.consumerId, consumer.id)
    else up.clearHeader(h.consumerId)
    if (consumer?.custom_id) up.setHeader(h.consumerCustomId, consumer.custom_id)
    else up.clearHeader(h.consumerCustomId)
    if (consumer?.username) up.setHeader(h.consumerUsername, consumer.username)
    else up.clearHeader(h.consumerUsername)
    if (credential) {
      up.setHeader(h.credentialIdentifier, credential.identifier)
      up.clearHeader(h.anonymous)
    } else {
      up.clearHeader(h.credentialIdentifier)
      up.setHeader(h.anonymous, 'true')
    }
  }

  exit(status: number, body?: unknown, headers?: PluginResponse['headers']): PluginResponse {
    return { status, body, headers }
  }

  error(status: number, message?: string, headers?: PluginResponse['headers']): PluginResponse {
    return { status, body: { message: message ?? defaultMessage(status) }, headers }
  }
}
