/**
 * request-transformer: before proxying, removes, renames, replaces, adds and appends headers, query arguments and
 * body fields (JSON and form bodies), in Kong's order; may change the method and replace the URI. Values can be
 * templates (template.ts). The body is only read when a body operation is configured.
 */
import { type RequestTransformerConfig, splitPair } from '@turnpike/shared'
import { encodeBody } from '../../pipeline/body-codec.ts'
import { parseQuery } from '../../pipeline/request-view.ts'
import { defineHandler, type PluginContext } from '../../pipeline/types.ts'
import { compileTemplate, render, type Template } from './template.ts'

type Pair = [string, Template]
interface Lists<T> {
  headers: T[]
  querystring: T[]
  body: T[]
}

interface Compiled {
  method: string | null
  uri: Template | null
  remove: Lists<string>
  rename: Lists<[string, string]>
  replace: Lists<Pair>
  add: Lists<Pair>
  append: Lists<Pair>
  hasBody: boolean
  hasQuery: boolean
}

const pairs = (list: readonly string[]): Pair[] =>
  list.map((e) => {
    const [k, v] = splitPair(e)
    return [k, compileTemplate(v)]
  })
const renames = (list: readonly string[]): [string, string][] => list.map((e) => splitPair(e))

function transformHeaders(ctx: PluginContext, c: Compiled): void {
  const up = ctx.upstream
  for (const name of c.remove.headers) up.clearHeader(name)
  for (const [from, to] of c.rename.headers) {
    const v = up.header(from)
    if (v === undefined) continue
    up.clearHeader(from)
    up.setHeader(to, v)
  }
  for (const [name, t] of c.replace.headers) {
    const v = render(ctx, t)
    if (v !== undefined && up.header(name) !== undefined) up.setHeader(name, v)
  }
  for (const [name, t] of c.add.headers) {
    const v = render(ctx, t)
    if (v !== undefined && up.header(name) === undefined) up.setHeader(name, v)
  }
  for (const [name, t] of c.append.headers) {
    const v = render(ctx, t)
    if (v !== undefined) up.addHeader(name, v)
  }
}

type Fields = Record<string, unknown>

/** Kong's remove/rename/replace/add/append on a record of fields (query arguments or body). */
function transformFields(ctx: PluginContext, c: Compiled, which: 'querystring' | 'body', fields: Fields): boolean {
  let changed = false
  for (const name of c.remove[which])
    if (name in fields) {
      delete fields[name]
      changed = true
    }
  for (const [from, to] of c.rename[which])
    if (from in fields) {
      fields[to] = fields[from]
      delete fields[from]
      changed = true
    }
  for (const [name, t] of c.replace[which]) {
    const v = render(ctx, t)
    if (v !== undefined && name in fields) {
      fields[name] = v
      changed = true
    }
  }
  for (const [name, t] of c.add[which]) {
    const v = render(ctx, t)
    if (v !== undefined && !(name in fields)) {
      fields[name] = v
      changed = true
    }
  }
  for (const [name, t] of c.append[which]) {
    const v = render(ctx, t)
    if (v === undefined) continue
    const prev = fields[name]
    fields[name] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v]
    changed = true
  }
  return changed
}

async function transformBody(ctx: PluginContext, c: Compiled): Promise<undefined> {
  const type = ctx.request.header('content-type')
  const body = (await ctx.request.parsedBody()) ?? (ctx.request.body?.length ? undefined : {})
  if (body === undefined) return undefined
  const copy = { ...body }
  if (!transformFields(ctx, c, 'body', copy)) return undefined
  const encoded = encodeBody(type ?? 'application/x-www-form-urlencoded', copy)
  if (encoded !== undefined)
    ctx.upstream.setBody(encoded, type === undefined ? 'application/x-www-form-urlencoded' : undefined)
  return undefined
}

const lists = <T>(
  make: (l: readonly string[]) => T[],
  r: { headers?: string[]; querystring?: string[]; body?: string[] },
): Lists<T> => ({
  headers: make(r.headers ?? []),
  querystring: make(r.querystring ?? []),
  body: make(r.body ?? []),
})

export const requestTransformerHandler = defineHandler<RequestTransformerConfig, Compiled>({
  compile(conf) {
    const c: Compiled = {
      method: conf.http_method,
      uri: conf.replace.uri === null ? null : compileTemplate(conf.replace.uri),
      remove: lists((l) => [...l], conf.remove),
      rename: lists(renames, conf.rename),
      replace: lists(pairs, conf.replace),
      add: lists(pairs, conf.add),
      append: lists(pairs, conf.append),
      hasBody: false,
      hasQuery: false,
    }
    const any = (w: 'body' | 'querystring') =>
      c.remove[w].length + c.rename[w].length + c.replace[w].length + c.add[w].length + c.append[w].length > 0
    c.hasBody = any('body')
    c.hasQuery = any('querystring')
    return c
  },
  access(ctx, c) {
    if (c.uri !== null) {
      const uri = render(ctx, c.uri)
      if (uri !== undefined) ctx.upstream.path = uri
    }
    if (c.method !== null) ctx.upstream.method = c.method
    transformHeaders(ctx, c)
    if (c.hasQuery) {
      const q: Fields = parseQuery(ctx.upstream.rawQuery)
      if (transformFields(ctx, c, 'querystring', q)) ctx.upstream.setQuery(q as Record<string, string | string[]>)
    }
    return c.hasBody && ctx.request.method !== 'GET' ? transformBody(ctx, c) : undefined
  },
})
