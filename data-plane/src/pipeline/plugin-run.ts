/**
 * The plugin side of one request, as the proxy drives it: the rewrite phase before routing, then — for a route
 * with a chain, or a gateway answer global plugins watch — access, the upstream changes, response hooks and the
 * log phase. It knows nothing of the proxy: the proxy routes, dispatches and hands answers here to be written.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '@turnpike/shared'
import type { Dispatcher } from 'undici'
import { defaultMessage } from '../http/messages.ts'
import { respond } from '../http/respond.ts'
import type { TrustedIps } from '../http/trusted-ips.ts'
import type { RouteMatch } from '../router/router.ts'
import type { Chain } from './chain.ts'
import type { Pipeline } from './compile.ts'
import { RequestContext } from './context.ts'
import { BodyTooLargeError } from './request-view.ts'
import { PluginResponseHooks } from './response-hooks.ts'
import type { ResponseHeaders } from './response-state.ts'
import { runLogPhase, runRequestPhase, runResponsePhase } from './run.ts'
import type { PluginResponse } from './types.ts'

const JSON_TYPE = 'application/json; charset=utf-8'

/** What a plugin run needs of the request, all known before routing. */
export interface PluginRequestFacts {
  readonly req: IncomingMessage
  readonly scheme: 'http' | 'https'
  /** Path without the query, as received. */
  readonly path: string
  /** Raw query without `?`. */
  readonly query: string
  readonly startedAt: number
  readonly requestId: string
  readonly trusted: TrustedIps
  readonly logger: Logger
}

/** A phase's outcome: an answer to send, or undefined to go on; a promise when a handler waited. */
export type PhaseOutcome = PluginResponse | undefined | Promise<PluginResponse | undefined>

export class PluginRun {
  readonly ctx: RequestContext
  readonly pipeline: Pipeline
  /** The route's chain once routed; null for gateway answers. */
  chain: Chain | null = null

  constructor(pipeline: Pipeline, facts: PluginRequestFacts) {
    this.pipeline = pipeline
    const ctx = new RequestContext(
      facts.req,
      facts.scheme,
      facts.path,
      facts.query,
      facts.startedAt,
      pipeline.consumers,
      facts.logger,
    )
    ctx.requestIdHint = facts.requestId
    ctx.request.trusted = facts.trusted
    this.ctx = ctx
  }

  /** The global rewrite handlers (before routing). */
  rewrite(): PhaseOutcome {
    return runRequestPhase(this.ctx, this.pipeline.rewrite!, 'rewrite')
  }

  /** Binds the matched route and its chain; `upstreamPath` and the query are what routing computed. */
  route(match: RouteMatch, chain: Chain, upstreamPath: string, query: string): void {
    const ctx = this.ctx
    this.chain = chain
    ctx.route = match.route.row
    ctx.service = match.route.service
    ctx.request.captures = match.captures
    ctx.upstream.bind(upstreamPath, query)
  }

  /** The route's access handlers (auth first by priority). */
  access(): PhaseOutcome {
    const chain = this.chain!
    return chain.access ? runRequestPhase(this.ctx, chain, 'access') : undefined
  }

  /** Puts what the handlers changed (path, query, method, headers, body) on the upstream request. */
  applyUpstream(options: Dispatcher.DispatchOptions): void {
    this.ctx.upstream.apply(options, this.ctx.request.body)
    this.ctx.response.dispatchedAt = performance.now()
  }

  /** The id of the consumer the access phase authenticated (consistent hashing on `consumer`). */
  consumerId(): string | undefined {
    return this.ctx.consumer?.id
  }

  /**
   * Response hooks for the exchange: headers the access phase set, response handlers on the upstream's headers,
   * body handlers on a buffered body, and what the log phase reads.
   */
  responseHooks(res: ServerResponse): PluginResponseHooks {
    return new PluginResponseHooks(this.ctx, this.chain!, (err) => this.fail(res, err))
  }

  /** Runs the log handlers of `chain` once the response is done (never delaying it). */
  logAfter(res: ServerResponse, chain: Chain | null = this.chain): void {
    if (!chain?.log) return
    const ctx = this.ctx
    res.once('close', () => {
      ctx.response.endedAt = performance.now()
      if (ctx.response.status === 0) ctx.response.attach(res.statusCode, {}, 'gateway')
      runLogPhase(ctx, chain)
    })
  }

  /**
   * Writes a plugin's (or the gateway's) own answer after the response handlers of the chain had their say;
   * `chain` defaults to the route's. A response handler that throws turns it into a 500.
   */
  answer(res: ServerResponse, pr: PluginResponse, source: 'plugin' | 'gateway' = 'plugin', chain = this.chain): void {
    if (res.headersSent || res.destroyed) return
    const ctx = this.ctx
    const headers: ResponseHeaders = {}
    let body: string | Buffer
    if (pr.body === undefined || pr.body === null) body = ''
    else if (typeof pr.body === 'string' || Buffer.isBuffer(pr.body)) body = pr.body
    else {
      body = JSON.stringify(pr.body)
      headers['content-type'] = JSON_TYPE
    }
    if (pr.headers)
      for (const [k, v] of Object.entries(pr.headers)) headers[k.toLowerCase()] = typeof v === 'object' ? [...v] : v
    ctx.response.attach(pr.status, headers, source)
    if (chain?.response) {
      try {
        runResponsePhase(ctx, chain)
      } catch (err) {
        ctx.log.error({ err, request_id: ctx.requestId }, 'plugin response handler failed; answering 500')
        this.answer(res, ctx.exit(500, { message: defaultMessage(500), request_id: ctx.requestId }), 'plugin', null)
        return
      }
    }
    ctx.response.bodyBytes = respond(res, ctx.response.status, headers, body, ctx.startedAt)
  }

  /** A handler failed: logged, and answered 500 with a request id to look it up by (413 for a body too large). */
  fail(res: ServerResponse, err: unknown): void {
    const ctx = this.ctx
    if (err instanceof BodyTooLargeError) {
      if (!res.headersSent) this.answer(res, ctx.error(413, 'Request size limit exceeded'), 'plugin', null)
      return
    }
    ctx.log.error(
      { err, request_id: ctx.requestId, method: ctx.request.method, path: ctx.request.path },
      'plugin failed; answering 500',
    )
    if (res.headersSent || res.destroyed) {
      res.destroy()
      return
    }
    this.answer(res, ctx.exit(500, { message: defaultMessage(500), request_id: ctx.requestId }), 'plugin', null)
  }
}

/** Settles a phase outcome, sync when it is: `then` gets the answer (or undefined), `fail` what a handler threw. */
export function settle(
  run: () => PhaseOutcome,
  then: (pr: PluginResponse | undefined) => void,
  fail: (err: unknown) => void,
): void {
  let r: PhaseOutcome
  try {
    r = run()
  } catch (err) {
    fail(err)
    return
  }
  if (r instanceof Promise) r.then(then).catch(fail)
  else then(r)
}
