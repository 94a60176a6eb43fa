/**
 * Where the proxy hands a request to plugins: the rewrite phase before routing, then — for a route with a chain,
 * or a gateway answer when global plugins watch those — access, upstream, response and log phases. Routes without
 * plugins never get here (`takeOver` returns false after one map lookup).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import type { Logger } from '@turnpike/shared'
import { forwardGrpc } from '../proxy/grpc-exchange.ts'
import type { RoutingOutcome } from '../proxy/handle-request.ts'
import type { ProxyEnv } from '../proxy/proxy-env.ts'
import { requestIdOf } from '../proxy/request-info.ts'
import { ownHeaders } from '../proxy/responses.ts'
import type { Chain } from './chain.ts'
import type { Pipeline } from './compile.ts'
import { RequestContext } from './context.ts'
import { defaultMessage } from './messages.ts'
import { PluginExchange } from './plugin-exchange.ts'
import { BodyTooLargeError } from './request-view.ts'
import type { ResponseHeaders } from './response-state.ts'
import { runLogPhase, runRequestPhase, runResponsePhase } from './run.ts'
import type { PluginResponse } from './types.ts'

const JSON_TYPE = 'application/json; charset=utf-8'

/** Contexts the rewrite phase created, picked up again after routing. */
const rewritten = new WeakMap<IncomingMessage, RequestContext>()

/** Whether the rewrite phase already ran for this request. */
export function rewriteDone(req: IncomingMessage): boolean {
  return rewritten.has(req)
}

function newContext(
  pipeline: Pipeline,
  req: IncomingMessage,
  res: ServerResponse,
  scheme: 'http' | 'https',
  startedAt: number,
  logger: Logger,
  env: ProxyEnv,
): RequestContext {
  let url = req.url ?? '/'
  if (url.charCodeAt(0) !== 0x2f) {
    const slash = url.indexOf('/', url.indexOf('//') + 2)
    url = slash === -1 ? '/' : url.slice(slash)
  }
  const q = url.indexOf('?')
  const ctx = new RequestContext(
    req,
    scheme,
    q === -1 ? url : url.slice(0, q),
    q === -1 ? '' : url.slice(q + 1),
    startedAt,
    pipeline.consumers,
    logger,
  )
  ctx.requestIdHint = requestIdOf(res)
  ctx.request.trusted = env.trusted
  return ctx
}

/** Logs a handler failure and answers 500 with a request id to look it up by. */
function failRequest(ctx: RequestContext, res: ServerResponse, err: unknown): void {
  const requestId = ctx.requestId
  if (err instanceof BodyTooLargeError) {
    if (!res.headersSent) writeResponse(ctx, res, null, ctx.error(413, 'Request size limit exceeded'))
    return
  }
  ctx.log.error(
    { err, request_id: requestId, method: ctx.request.method, path: ctx.request.path },
    'plugin failed; answering 500',
  )
  if (res.headersSent || res.destroyed) {
    res.destroy()
    return
  }
  writeResponse(ctx, res, null, ctx.exit(500, { message: defaultMessage(500), request_id: requestId }))
}

/**
 * Writes a plugin's (or the gateway's) own response, after the response handlers of `chain` had their say.
 * A response handler that throws turns it into a 500.
 */
function writeResponse(
  ctx: RequestContext,
  res: ServerResponse,
  chain: Chain | null,
  pr: PluginResponse,
  source: 'plugin' | 'gateway' = 'plugin',
): void {
  if (res.headersSent || res.destroyed) return
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
      writeResponse(ctx, res, null, ctx.exit(500, { message: defaultMessage(500), request_id: ctx.requestId }))
      return
    }
  }
  for (const [k, v] of Object.entries(ownHeaders(res, ctx.startedAt))) headers[k.toLowerCase()] = v as string
  const status = ctx.response.status
  const bodyless = status === 204 || status === 304
  if (bodyless) delete headers['content-length']
  else headers['content-length'] = Buffer.byteLength(body)
  const send = !bodyless && ctx.request.method !== 'HEAD'
  ctx.response.bodyBytes = send ? Buffer.byteLength(body) : 0
  res.writeHead(status, headers)
  res.end(send ? body : undefined)
}

function afterResponse(ctx: RequestContext, res: ServerResponse, chain: Chain): void {
  if (!chain.log) return
  res.once('close', () => {
    ctx.response.endedAt = performance.now()
    if (ctx.response.status === 0) ctx.response.attach(res.statusCode, {}, 'gateway')
    runLogPhase(ctx, chain)
  })
}

/** Runs the global rewrite handlers, then `next` (routing and the rest) unless a handler answered. */
export function runRewrite(
  pipeline: Pipeline,
  req: IncomingMessage,
  res: ServerResponse,
  startedAt: number,
  scheme: 'http' | 'https',
  logger: Logger,
  env: ProxyEnv,
  next: () => void,
): void {
  const chain = pipeline.rewrite!
  const ctx = newContext(pipeline, req, res, scheme, startedAt, logger, env)
  rewritten.set(req, ctx)
  const done = (pr: PluginResponse | undefined) => {
    if (res.destroyed || res.writableEnded) return
    if (pr === undefined) {
      try {
        next()
      } catch (err) {
        failRequest(ctx, res, err)
      }
      return
    }
    afterResponse(ctx, res, chain)
    writeResponse(ctx, res, chain, pr)
  }
  let r: ReturnType<typeof runRequestPhase>
  try {
    r = runRequestPhase(ctx, chain, 'rewrite')
  } catch (err) {
    failRequest(ctx, res, err)
    return
  }
  if (r instanceof Promise)
    r.then(done).catch((err) => {
      failRequest(ctx, res, err)
    })
  else done(r)
}

/**
 * After routing: takes the request over when its route has plugins (or global plugins watch gateway answers,
 * or the rewrite phase already started a context). Returns false to let the proxy go on unchanged.
 */
export function takeOver(
  pipeline: Pipeline,
  outcome: RoutingOutcome,
  req: IncomingMessage,
  res: ServerResponse,
  startedAt: number,
  scheme: 'http' | 'https',
  logger: Logger,
  env: ProxyEnv,
): boolean {
  if (outcome.kind !== 'forward') {
    const chain = pipeline.unrouted
    if (chain === null) return false
    const ctx = rewritten.get(req) ?? newContext(pipeline, req, res, scheme, startedAt, logger, env)
    const pr: PluginResponse =
      outcome.kind === 'reply'
        ? {
            status: outcome.status,
            body: outcome.empty ? undefined : { message: outcome.message },
            headers: outcome.headers as PluginResponse['headers'],
          }
        : { status: outcome.status, headers: { Location: outcome.location } }
    afterResponse(ctx, res, chain)
    writeResponse(ctx, res, chain, pr, 'gateway')
    return true
  }
  const chain = pipeline.chainFor(outcome.match.route.row.id)
  if (chain === undefined) return false
  const ctx = rewritten.get(req) ?? newContext(pipeline, req, res, scheme, startedAt, logger, env)
  ctx.route = outcome.match.route.row
  ctx.service = outcome.match.route.service
  ctx.request.captures = outcome.match.captures
  const upstreamPath = outcome.match.upstreamPath
  const fullPath = outcome.options.path
  ctx.upstream.bind(upstreamPath, fullPath.length > upstreamPath.length ? fullPath.slice(upstreamPath.length + 1) : '')
  afterResponse(ctx, res, chain)

  const proceed = (pr: PluginResponse | undefined): void => {
    if (res.destroyed || res.writableEnded) return
    if (pr !== undefined) {
      writeResponse(ctx, res, chain, pr)
      return
    }
    const options = outcome.options
    ctx.upstream.apply(options, ctx.request.body)
    ctx.response.dispatchedAt = performance.now()
    if (outcome.upstream.h2 && req.httpVersionMajor === 2) {
      // gRPC over HTTP/2 keeps its own exchange: plugins see requests and logs, not its responses.
      forwardGrpc(
        req as unknown as Http2ServerRequest,
        res as unknown as Http2ServerResponse,
        outcome.upstream,
        options,
        startedAt,
        env,
      )
      return
    }
    const onError = (err: unknown) => failRequest(ctx, res, err)
    new PluginExchange(req, res, outcome.upstream, options, startedAt, logger, env, ctx, chain, onError).start()
  }
  try {
    const r = chain.access ? runRequestPhase(ctx, chain, 'access') : undefined
    if (r instanceof Promise)
      r.then(proceed).catch((err) => {
        failRequest(ctx, res, err)
      })
    else proceed(r)
  } catch (err) {
    failRequest(ctx, res, err)
  }
  return true
}

/** What a WebSocket upgrade is answered with when a plugin refuses it. */
export interface UpgradeRefusal {
  status: number
  message: string
  headers: Record<string, string>
}

/**
 * The access phase for an Upgrade (WebSocket) request on a route with plugins: auth, ACLs, limits apply to the
 * handshake. Undefined when the route has no plugins; else resolves to a refusal, or undefined after applying
 * the plugins' upstream changes to `outcome.options`.
 */
export function upgradeAccess(
  pipeline: Pipeline,
  outcome: Extract<RoutingOutcome, { kind: 'forward' }>,
  req: IncomingMessage,
  scheme: 'http' | 'https',
  startedAt: number,
  logger: Logger,
  env: ProxyEnv,
  requestId: string,
): Promise<UpgradeRefusal | undefined> | undefined {
  const chain = pipeline.chainFor(outcome.match.route.row.id)
  if (chain === undefined || !chain.access) return undefined
  const res = { headersSent: false } as unknown as ServerResponse
  const ctx = newContext(pipeline, req, res, scheme, startedAt, logger, env)
  ctx.requestIdHint = requestId
  ctx.route = outcome.match.route.row
  ctx.service = outcome.match.route.service
  ctx.request.captures = outcome.match.captures
  return Promise.resolve()
    .then(() => runRequestPhase(ctx, chain, 'access'))
    .then((pr) => {
      if (pr === undefined) {
        ctx.upstream.apply(outcome.options, ctx.request.body)
        return undefined
      }
      const body = pr.body as { message?: unknown } | undefined
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(pr.headers ?? {})) headers[k] = Array.isArray(v) ? v.join(', ') : String(v)
      return {
        status: pr.status,
        message: typeof body?.message === 'string' ? body.message : defaultMessage(pr.status),
        headers,
      }
    })
    .catch((err) => {
      ctx.log.error({ err, request_id: requestId }, 'plugin failed on an upgrade request; answering 500')
      return { status: 500, message: defaultMessage(500), headers: {} }
    })
}
