/**
 * The plugin handler contract (design §5): a handler hooks phases and gets a small typed context; it ends a request
 * by returning a response. Configs arrive validated against the shared definition (defaults filled), optionally
 * compiled once per snapshot by `compile`.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { ConfigEntities, Logger } from '@turnpike/shared'
import type { RouteRow, ServiceRow } from '../runtime/entity-rows.ts'
import type { ConsumerIndex, ConsumerRow } from './consumers.ts'

/** A response a plugin answers with instead of proxying (Kong's `kong.response.exit`). */
export interface PluginResponse {
  readonly status: number
  /** An object is sent as JSON; a string or Buffer as is. */
  readonly body?: unknown
  /** Header names in any case; they are sent lowercased. */
  readonly headers?: Readonly<Record<string, string | number | readonly string[]>>
}

/** What a request-phase handler returns: nothing to go on, or a response to stop with (possibly later). */
export type PhaseResult = PluginResponse | undefined | Promise<PluginResponse | undefined>

/** The credential an auth plugin identified the consumer by. */
export interface AuthCredential {
  readonly id: string
  /** Sent upstream as X-Credential-Identifier: the key's id (key-auth), username (basic/hmac), key (jwt). */
  readonly identifier: string
}

/** The client's request as plugins see it; headers are the client's (lowercased names), never the upstream's. */
export interface PluginRequest {
  readonly method: string
  readonly scheme: 'http' | 'https'
  /** Host header without port, lowercased. */
  readonly host: string
  readonly port: number
  /** The path as sent, without the query string. */
  readonly path: string
  /** The query string without `?` ('' when none). */
  readonly rawQuery: string
  /** Decoded query arguments; repeated names give arrays (parsed on first use). */
  readonly query: Readonly<Record<string, string | string[]>>
  readonly headers: IncomingHttpHeaders
  /** First value of a header (name lowercased). */
  header(name: string): string | undefined
  readonly clientIp: string
  /** Regex captures of the matched `~` route path (numbered and named), else null. */
  readonly captures: RegExpExecArray | null
  /** Declared body length, when the client sent a Content-Length. */
  readonly contentLength: number | undefined
  /** Whether the request carries a body (Content-Length > 0 or Transfer-Encoding). */
  readonly hasBody: boolean
  /**
   * Reads the whole body once (later calls share it) and sends that buffer upstream instead of streaming.
   * Rejects with a BodyTooLargeError past `limit` bytes (default 8 MiB).
   */
  readBody(limit?: number): Promise<Buffer>
  /** The body read by `readBody`, if it was. */
  readonly body: Buffer | undefined
  /** The body parsed by content type (JSON object, urlencoded or multipart text fields); reads it first. */
  parsedBody(limit?: number): Promise<Record<string, unknown> | undefined>
  /** The underlying node request, for what the view does not cover. */
  readonly raw: IncomingMessage
}

/** Changes to the request sent upstream; they are applied once, when it is dispatched. */
export interface UpstreamRequest {
  /** Replaces every value of a header. */
  setHeader(name: string, value: string | number | readonly string[]): void
  /** Adds a value, keeping the ones already there. */
  addHeader(name: string, value: string): void
  clearHeader(name: string): void
  /** The value the upstream will see for a header, this request's changes included. */
  header(name: string): string | undefined
  /** The upstream path (without query), as computed from the route and service unless replaced. */
  path: string
  /** The upstream query string without `?`. */
  rawQuery: string
  setQuery(args: Readonly<Record<string, string | readonly string[]>>): void
  method: string
  /** Replaces the body (and its Content-Length); `contentType` replaces Content-Type when given. */
  setBody(body: Buffer | string, contentType?: string): void
}

/** The response on its way to the client (upstream's, a plugin's, or the gateway's own). */
export interface ResponseView {
  /** 0 until a response exists (in the access phase). */
  readonly status: number
  /** Where it came from: proxied, a plugin's short-circuit, or the gateway itself (no route, errors). */
  readonly source: 'upstream' | 'plugin' | 'gateway' | undefined
  header(name: string): string | undefined
  /** All response headers (lowercased names), once the response exists. */
  readonly headers: Readonly<Record<string, string | string[] | number | undefined>> | null
  /** In the access phase, headers are queued and added to whatever response goes out. */
  setHeader(name: string, value: string | number | readonly string[]): void
  addHeader(name: string, value: string): void
  clearHeader(name: string): void
  /** From a `response` handler: buffer the upstream body and run `body` handlers on it. */
  bufferBody(): void
  /** Timing in ms: from receiving the request to dispatching upstream, waiting for its headers, in total. */
  readonly latencies: { proxy: number; upstream: number; total: number }
  /** Body bytes sent to the client so far. */
  readonly bodyBytes: number
}

/** The per-request context a handler receives. */
export interface PluginContext {
  readonly request: PluginRequest
  readonly upstream: UpstreamRequest
  readonly response: ResponseView
  readonly route: RouteRow | undefined
  readonly service: ServiceRow | undefined
  /** The identified consumer (also the anonymous one), once an auth plugin ran. */
  readonly consumer: ConsumerRow | undefined
  /** The credential that authenticated the consumer; undefined for anonymous. */
  readonly credential: AuthCredential | undefined
  /** Groups an auth plugin vouched for without a consumer (Kong's authenticated groups). */
  authenticatedGroups: readonly string[] | undefined
  /** Data shared by all plugins of this request (Kong's `kong.ctx.shared`). */
  readonly shared: Record<string, unknown>
  /** Data private to the running plugin for this request (Kong's `kong.ctx.plugin`). */
  readonly plugin: Record<string, unknown>
  /** The running plugin's logger. */
  readonly log: Logger
  /** Request id (the one in logs and error bodies). */
  readonly requestId: string
  /** When the gateway received the request (performance.now() ms) and the wall clock then (epoch ms). */
  readonly startedAt: number
  readonly startedAtEpoch: number
  readonly consumers: ConsumerIndex
  /**
   * Sets the consumer and credential (undefined credential = anonymous) and the upstream identity headers
   * X-Consumer-ID/-Custom-ID/-Username, X-Credential-Identifier, X-Anonymous-Consumer.
   */
  authenticate(consumer: ConsumerRow | undefined, credential: AuthCredential | undefined): void
  /** A response to return from a handler (Kong's `kong.response.exit`). */
  exit(status: number, body?: unknown, headers?: PluginResponse['headers']): PluginResponse
  /** A JSON `{"message"}` response with Kong's default message for the status (Kong's `kong.response.error`). */
  error(status: number, message?: string, headers?: PluginResponse['headers']): PluginResponse
}

/** What `compile` gets: the snapshot and helpers that keep per-snapshot work shared. */
export interface CompileEnv {
  readonly entities: ConfigEntities
  readonly consumers: ConsumerIndex
  readonly logger: Logger
  /** The plugin instance's id and scope. */
  readonly instance: { id: string; route_id: string | null; service_id: string | null; consumer_id: string | null }
  /**
   * A value built once per snapshot for all instances, reused from the previous snapshot when the part hashes of
   * `deps` (collection names) are unchanged; `null` deps: this snapshot only.
   */
  shared<T>(key: string, deps: readonly string[] | null, build: () => T): T
}

/** A plugin's data-plane half. `Conf` is its shared config type; `Compiled` what `compile` makes of it. */
export interface PluginHandler<Conf = Record<string, unknown>, Compiled = Conf> {
  /** Turns a validated instance config into what the phases receive, once per snapshot; throwing rejects it. */
  compile?(config: Conf, env: CompileEnv): Compiled
  /** Global instances only, before routing. */
  rewrite?(ctx: PluginContext, conf: Compiled): PhaseResult
  access?(ctx: PluginContext, conf: Compiled): PhaseResult
  /** Response headers (Kong's header_filter): runs for proxied, plugin and gateway responses alike. */
  response?(ctx: PluginContext, conf: Compiled): void
  /** Whole upstream body, only after some `response` handler called `ctx.response.bufferBody()`. */
  body?(ctx: PluginContext, conf: Compiled, body: Buffer): Buffer | string
  /** After the response went out; never delays it. */
  log?(ctx: PluginContext, conf: Compiled): void
}

/** Identity helper that types a handler against its config. */
export function defineHandler<Conf, Compiled = Conf>(h: PluginHandler<Conf, Compiled>): PluginHandler<Conf, Compiled> {
  return h
}
