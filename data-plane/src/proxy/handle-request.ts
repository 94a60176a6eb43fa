/**
 * The request path, for requests and Upgrade handshakes alike: global rewrite plugins, routing, the route's
 * plugins (access), then the one dispatch — or one of the gateway's own answers, written where the request came
 * from (its response, or the upgraded socket).
 */
import type { ServerResponse } from 'node:http'
import { defaultMessage, MESSAGES } from '../http/messages.ts'
import { sendEmpty, sendMessage } from '../http/respond.ts'
import { PluginRun, settle } from '../pipeline/plugin-run.ts'
import type { PluginResponse } from '../pipeline/types.ts'
import { dispatch } from './dispatch.ts'
import type { RequestScope } from './request-scope.ts'
import { type RoutingOutcome, routeRequest } from './route-request.ts'
import { answerOnSocket } from './websocket.ts'

type Answer = Exclude<RoutingOutcome, { kind: 'forward' }>

/** Writes one of the gateway's answers without plugins. */
function answer(scope: RequestScope, outcome: Answer): void {
  const { res, startedAt } = scope
  if (res === null) {
    const raw =
      outcome.kind === 'reply'
        ? { ...outcome, headers: outcome.headers as Record<string, string> }
        : { status: outcome.status, message: '', headers: { Location: outcome.location }, empty: true }
    answerOnSocket(scope.upgrade!.socket, raw, scope.env, scope.requestId, startedAt)
  } else if (outcome.kind === 'redirect') sendEmpty(res, outcome.status, { Location: outcome.location }, startedAt)
  else if (outcome.empty) sendEmpty(res, outcome.status, outcome.headers ?? {}, startedAt)
  else sendMessage(res, outcome.status, outcome.message, startedAt, undefined, outcome.headers)
}

/** A plugin's answer to an upgrade handshake, on the raw socket. */
function answerUpgrade(scope: RequestScope, pr: PluginResponse): void {
  const body = pr.body as { message?: unknown } | undefined
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(pr.headers ?? {})) headers[k] = Array.isArray(v) ? v.join(', ') : String(v)
  const message = typeof body?.message === 'string' ? body.message : defaultMessage(pr.status)
  answerOnSocket(
    scope.upgrade!.socket,
    { status: pr.status, message, headers },
    scope.env,
    scope.requestId,
    scope.startedAt,
  )
}

function pluginFacts(scope: RequestScope) {
  return {
    req: scope.req,
    scheme: scope.scheme,
    path: scope.path ?? '/',
    query: scope.query,
    startedAt: scope.startedAt,
    requestId: scope.requestId,
    trusted: scope.env.trusted,
    logger: scope.env.logger,
  }
}

/** Handles a request (or handshake) on its leased config. */
export function handleRequest(scope: RequestScope): void {
  const pipeline = scope.config.plugins
  // Global rewrite plugins run before routing (not on upgrades: their handshake has no response to rewrite).
  if (pipeline?.rewrite && scope.res !== null) {
    const run = new PluginRun(pipeline, pluginFacts(scope))
    const res = scope.res
    settle(
      () => run.rewrite(),
      (pr) => {
        if (res.destroyed || res.writableEnded) return
        if (pr === undefined) routed(scope, run)
        else {
          run.logAfter(res, pipeline.rewrite)
          run.answer(res, pr, 'plugin', pipeline.rewrite)
        }
      },
      (err) => run.fail(res, err),
    )
    return
  }
  routed(scope, null)
}

/** After rewrite: routes, runs the route's access plugins, dispatches. `rewriteRun` is the rewrite phase's, if any. */
function routed(scope: RequestScope, rewriteRun: PluginRun | null): void {
  const outcome = routeRequest(scope)
  const pipeline = scope.config.plugins
  const res = scope.res
  if (outcome.kind !== 'forward') {
    // Gateway answers go through the global plugins that watch them (logging, CORS …).
    const chain = pipeline?.unrouted
    if (!chain || res === null) {
      answer(scope, outcome)
      return
    }
    const run = rewriteRun ?? new PluginRun(pipeline, pluginFacts(scope))
    const pr: PluginResponse =
      outcome.kind === 'reply'
        ? {
            status: outcome.status,
            body: outcome.empty ? undefined : { message: outcome.message },
            headers: outcome.headers as PluginResponse['headers'],
          }
        : { status: outcome.status, headers: { Location: outcome.location } }
    run.logAfter(res, chain)
    run.answer(res, pr, 'gateway', chain)
    return
  }
  if (scope.upgrade !== null && (!outcome.match.route.websocket || outcome.backend.settings.grpc)) {
    answer(scope, { kind: 'reply', status: 400, message: MESSAGES.badRequest })
    return
  }
  const chain = pipeline?.chainFor(outcome.match.route.row.id)
  if (chain === undefined || pipeline === null || (scope.upgrade !== null && !chain.access)) {
    dispatch(scope, outcome, null)
    return
  }
  const run = rewriteRun ?? new PluginRun(pipeline, pluginFacts(scope))
  run.route(outcome.match, chain, outcome.match.upstreamPath, scope.query)
  if (res !== null) run.logAfter(res)
  settle(
    () => run.access(),
    (pr) => {
      if (res !== null && (res.destroyed || res.writableEnded)) return
      if (pr !== undefined) {
        if (res === null) answerUpgrade(scope, pr)
        else run.answer(res, pr)
        return
      }
      run.applyUpstream(outcome.options)
      const hooks = res === null ? null : run.responseHooks(res as ServerResponse)
      dispatch(scope, outcome, hooks, () => run.consumerId())
    },
    (err) => {
      if (res !== null) run.fail(res, err)
      else {
        run.ctx.log.error({ err, request_id: scope.requestId }, 'plugin failed on an upgrade request; answering 500')
        answerOnSocket(
          scope.upgrade!.socket,
          { status: 500, message: MESSAGES.unexpected },
          scope.env,
          scope.requestId,
          scope.startedAt,
        )
      }
    },
  )
}
