/**
 * The HTTP router, compiled once per snapshot. Exact hosts sit in a map, wildcard hosts in suffix/prefix maps
 * probed label by label, plain paths in a radix tree per host; every (route, path) pair gets a rank from Kong's
 * priority order at compile time, so matching only compares integers and stops as soon as nothing can beat the
 * best match found. Cost grows with the request's host labels and path length, not with the number of routes.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { RouteRow, ServiceRow } from '../runtime/entity-rows.ts'
import { parseHostPattern } from './host.ts'
import { escapePath, normalizePercentEncoding, toByteString } from './normalize-path.ts'
import { PrefixTree } from './prefix-tree.ts'
import { comparePriority, type PriorityKey, priorityKey } from './priority.ts'
import { compileRegexPath, type RegexPath } from './regex-path.ts'
import { upstreamPath, upstreamPathV1 } from './upstream-path.ts'

export interface RouterRequest {
  /** Uppercase method as received. */
  method: string
  /** Host from the Host header, lowercased, without port. */
  host: string
  /** Port from the Host header, else the port the request arrived on. */
  port: number
  /** Normalized path without the query string. */
  path: string
  scheme: 'http' | 'https'
  /** TLS server name, lowercased; only consulted for https. */
  sni: string | undefined
  headers: IncomingHttpHeaders
  /** The request's raw header list, when at hand: header rules then see every value of a repeated header, as Kong. */
  rawHeaders?: readonly string[]
}

interface HeaderRule {
  name: string
  values: ReadonlySet<string>
  patterns: readonly RegExp[]
}

/** A route as the proxy needs it after matching. */
export interface CompiledRoute {
  readonly row: RouteRow
  readonly service: ServiceRow | undefined
  readonly stripPath: boolean
  readonly preserveHost: boolean
  /** Only `https` is allowed: plain-http requests get Kong's 426 or redirect. */
  readonly httpsOnly: boolean
  readonly servicePath: string
  /** Matches plain-text requests: always, since TLS-only routes answer plain requests themselves (426, redirect, gRPC status). */
  readonly http: boolean
  /** Matches TLS requests: `https`, `grpcs` or `wss` is listed. */
  readonly https: boolean
  /** A `grpc`/`grpcs` route: only HTTP/2 gRPC requests are proxied, others get Kong's 415/426. */
  readonly grpc: boolean
  /** `grpcs` without `grpc`: plain-text gRPC gets Kong's grpc-status 1 answer. */
  readonly grpcsOnly: boolean
  /** WebSocket upgrades are proxied (`http`, `https`, `ws` or `wss` listed, as Kong proxies upgrades on http routes). */
  readonly websocket: boolean
  /** Only `ws`/`wss` listed: requests that are not WebSocket handshakes are refused. */
  readonly websocketOnly: boolean
  /** Only `wss` listed: handshakes over plain text get the 426 of https-only routes. */
  readonly wssOnly: boolean
  readonly pathHandlingV1: boolean
  readonly requestBuffering: boolean
  readonly responseBuffering: boolean
  readonly methods: ReadonlySet<string> | null
  readonly headers: readonly HeaderRule[] | null
  readonly snis: ReadonlySet<string> | null
}

interface Candidate {
  rank: number
  route: CompiledRoute
  prefix: string | undefined
  regex: RegexPath | undefined
}

/** A candidate reachable through one host entry; `ports` restricts it when that entry named a port. */
interface Slot {
  candidate: Candidate
  ports: ReadonlySet<number> | null
}

export interface RouteMatch {
  route: CompiledRoute
  /** The part of the path the route matched (its prefix, or the regex match); undefined for a route without paths. */
  matchedPath: string | undefined
  /** Kong's matched prefix: the matched path when `strip_path` removed it. */
  strippedPrefix: string | undefined
  /** Path (without query) to send upstream, escaped as Kong escapes it. */
  upstreamPath: string
  /** Regex captures (numbered and named) when a `~` path matched. */
  captures: RegExpExecArray | null
  /**
   * Kong's `router_matches.uri_captures` for plugins: `"0"` is the whole match, `"1"`… the groups, plus named
   * groups by name; unmatched groups are absent. Null unless a `~` path matched. Built on first read.
   */
  readonly uriCaptures: Readonly<Record<string, string>> | null
}

class PathIndex {
  readonly prefixes = new PrefixTree<Slot>()
  /** Regex paths keyed by their literal prefix: only those a path starts with get tried. */
  readonly regexes = new PrefixTree<Slot>()
  readonly pathless: Slot[] = []

  add(slot: Slot): void {
    const c = slot.candidate
    if (c.prefix !== undefined) this.prefixes.insert(c.prefix, slot)
    else if (c.regex) this.regexes.insert(c.regex.literalPrefix, slot)
    else this.pathless.push(slot)
  }

  sort(): void {
    this.prefixes.sortValues(byRank)
    this.regexes.sortValues(byRank)
    this.pathless.sort(byRank)
  }
}

const byRank = (a: Slot, b: Slot) => a.candidate.rank - b.candidate.rank

interface MatchState {
  req: RouterRequest
  best: Slot | null
  rank: number
  captures: RegExpExecArray | null
}

function headerMatches(rule: HeaderRule, headers: IncomingHttpHeaders, raw: readonly string[] | undefined): boolean {
  if (raw !== undefined) {
    for (let i = 0; i < raw.length; i += 2)
      if (raw[i]!.length === rule.name.length && raw[i]!.toLowerCase() === rule.name)
        if (valueMatches(rule, raw[i + 1]!.toLowerCase())) return true
    return false
  }
  const value = headers[rule.name]
  if (value === undefined) return false
  if (typeof value === 'string') return valueMatches(rule, value.toLowerCase())
  return value.some((v) => valueMatches(rule, v.toLowerCase()))
}

function valueMatches(rule: HeaderRule, value: string): boolean {
  if (rule.values.has(value)) return true
  for (const re of rule.patterns) if (re.test(value)) return true
  return false
}

/** Everything but the path: ports of the host entry, methods, protocol, SNI, headers. */
function accepts(slot: Slot, req: RouterRequest): boolean {
  const route = slot.candidate.route
  if (slot.ports !== null && !slot.ports.has(req.port)) return false
  if (route.methods !== null && !route.methods.has(req.method)) return false
  if (req.scheme === 'https' && !route.https) return false
  // As in Kong, SNIs only constrain TLS requests.
  if (route.snis !== null && req.scheme === 'https' && (req.sni === undefined || !route.snis.has(req.sni))) return false
  if (route.headers !== null)
    for (const rule of route.headers) if (!headerMatches(rule, req.headers, req.rawHeaders)) return false
  return true
}

/** Picks the first acceptable slot of a rank-sorted list, if it beats the current best. */
function scan(state: MatchState, slots: readonly Slot[]): void {
  for (const slot of slots) {
    if (slot.candidate.rank >= state.rank) return
    if (accepts(slot, state.req)) {
      state.best = slot
      state.rank = slot.candidate.rank
      state.captures = null
      return
    }
  }
}

function scanRegexes(state: MatchState, slots: readonly Slot[]): void {
  for (const slot of slots) {
    if (slot.candidate.rank >= state.rank) return
    if (!accepts(slot, state.req)) continue
    const m = slot.candidate.regex!.regex.exec(state.req.path)
    if (m) {
      state.best = slot
      state.rank = slot.candidate.rank
      state.captures = m
      return
    }
  }
}

function search(index: PathIndex, state: MatchState): void {
  index.prefixes.visit(state.req.path, state, scan)
  index.regexes.visit(state.req.path, state, scanRegexes)
  if (index.pathless.length) scan(state, index.pathless)
}

function compileHeaders(headers: Record<string, string[]> | null): HeaderRule[] | null {
  if (!headers || Object.keys(headers).length === 0) return null
  return Object.entries(headers).map(([name, values]) => ({
    name: name.toLowerCase(),
    values: new Set(values.filter((v) => !v.startsWith('~*')).map((v) => v.toLowerCase())),
    patterns: values.filter((v) => v.startsWith('~*')).map((v) => new RegExp(v.slice(2), 'i')),
  }))
}

function compileRoute(row: RouteRow, service: ServiceRow | undefined): CompiledRoute {
  const protocols = new Set(row.protocols)
  const has = (p: string) => protocols.has(p)
  const websocketOnly = (has('ws') || has('wss')) && !has('http') && !has('https') && !has('grpc') && !has('grpcs')
  return {
    row,
    service,
    stripPath: row.strip_path,
    preserveHost: row.preserve_host,
    httpsOnly: has('https') && !has('http'),
    servicePath: service?.path ?? '/',
    http: true,
    https: has('https') || has('grpcs') || has('wss'),
    grpc: has('grpc') || has('grpcs'),
    grpcsOnly: has('grpcs') && !has('grpc'),
    websocket: has('http') || has('https') || has('ws') || has('wss'),
    websocketOnly,
    wssOnly: websocketOnly && !has('ws'),
    pathHandlingV1: row.path_handling === 'v1',
    requestBuffering: row.request_buffering !== false,
    responseBuffering: row.response_buffering !== false,
    methods: row.methods?.length ? new Set(row.methods) : null,
    headers: compileHeaders(row.headers),
    snis: row.snis?.length ? new Set(row.snis.map((s) => s.toLowerCase().replace(/\.$/, ''))) : null,
  }
}

export class Router {
  readonly #exact = new Map<string, PathIndex>()
  /** `*.example.com` keyed by `.example.com`. */
  readonly #suffix = new Map<string, PathIndex>()
  /** `example.*` keyed by `example.`. */
  readonly #prefix = new Map<string, PathIndex>()
  #any: PathIndex | null = null
  /** Number of (route, path) candidates. */
  readonly size: number

  /** Compiles routes whose services (when set) are in `services`; a bad regex throws. */
  constructor(routes: readonly RouteRow[], services: ReadonlyMap<string, ServiceRow>) {
    const keyed: { candidate: Candidate; key: PriorityKey }[] = []
    for (const row of routes) {
      const route = compileRoute(row, row.service_id ? services.get(row.service_id) : undefined)
      const paths = row.paths?.length ? row.paths : [undefined]
      for (const [pathIndex, raw] of paths.entries()) {
        // Requests are matched as byte strings; configured UTF-8 text is read the same way.
        const regex = raw?.startsWith('~') ? compileRegexPath(toByteString(raw)) : undefined
        const prefix = raw !== undefined && !regex ? normalizePercentEncoding(toByteString(raw)) : undefined
        const candidate: Candidate = { rank: 0, route, prefix, regex }
        keyed.push({ candidate, key: priorityKey(row, prefix ?? raw, pathIndex) })
        this.#place(candidate, row.hosts)
      }
    }
    keyed.sort((a, b) => comparePriority(a.key, b.key))
    for (const [rank, { candidate }] of keyed.entries()) candidate.rank = rank
    for (const index of this.#indexes()) index.sort()
    this.size = keyed.length
  }

  #place(candidate: Candidate, hosts: string[] | null): void {
    if (!hosts?.length) {
      this.#any ??= new PathIndex()
      this.#any.add({ candidate, ports: null })
      return
    }
    for (const raw of hosts) {
      const pattern = parseHostPattern(raw)
      const ports = pattern.port === undefined ? null : new Set([pattern.port])
      const [map, key] =
        pattern.kind === 'exact'
          ? [this.#exact, pattern.name]
          : pattern.kind === 'suffix'
            ? [this.#suffix, pattern.suffix]
            : [this.#prefix, pattern.prefix]
      let index = map.get(key)
      if (!index) {
        index = new PathIndex()
        map.set(key, index)
      }
      index.add({ candidate, ports })
    }
  }

  *#indexes(): Iterable<PathIndex> {
    yield* this.#exact.values()
    yield* this.#suffix.values()
    yield* this.#prefix.values()
    if (this.#any) yield this.#any
  }

  /** The highest-priority route matching the request, with the upstream path computed. */
  match(req: RouterRequest): RouteMatch | undefined {
    const state: MatchState = { req, best: null, rank: Number.POSITIVE_INFINITY, captures: null }
    const host = req.host
    const exact = this.#exact.get(host)
    if (exact) search(exact, state)
    if (this.#suffix.size > 0) {
      for (let i = host.indexOf('.', 1); i !== -1; i = host.indexOf('.', i + 1)) {
        const index = this.#suffix.get(host.slice(i))
        if (index) search(index, state)
      }
    }
    if (this.#prefix.size > 0) {
      for (let i = host.lastIndexOf('.', host.length - 2); i > 0; i = host.lastIndexOf('.', i - 1)) {
        const index = this.#prefix.get(host.slice(0, i + 1))
        if (index) search(index, state)
      }
    }
    if (this.#any) search(this.#any, state)
    if (!state.best) return undefined
    const { route, prefix } = state.best.candidate
    const captures = state.captures
    const matchedPath = captures ? captures[0] : prefix
    const join = route.pathHandlingV1 ? upstreamPathV1 : upstreamPath
    return new Match(
      route,
      matchedPath,
      escapePath(join(req.path, matchedPath, route.stripPath, route.servicePath)),
      captures,
    )
  }
}

/** A RouteMatch whose Kong-shaped captures are built only if a plugin asks for them. */
class Match implements RouteMatch {
  readonly route: CompiledRoute
  readonly matchedPath: string | undefined
  readonly strippedPrefix: string | undefined
  readonly upstreamPath: string
  readonly captures: RegExpExecArray | null
  #uriCaptures: Record<string, string> | null | undefined

  constructor(
    route: CompiledRoute,
    matchedPath: string | undefined,
    upstreamPath: string,
    captures: RegExpExecArray | null,
  ) {
    this.route = route
    this.matchedPath = matchedPath
    this.strippedPrefix = route.stripPath ? matchedPath : undefined
    this.upstreamPath = upstreamPath
    this.captures = captures
  }

  get uriCaptures(): Readonly<Record<string, string>> | null {
    if (this.#uriCaptures !== undefined) return this.#uriCaptures
    const m = this.captures
    if (m === null) return null
    const out: Record<string, string> = {}
    for (let i = 0; i < m.length; i++) if (m[i] !== undefined) out[i] = m[i]!
    if (m.groups) for (const [name, value] of Object.entries(m.groups)) if (value !== undefined) out[name] = value
    this.#uriCaptures = out
    return out
  }
}
