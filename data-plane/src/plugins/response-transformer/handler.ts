/**
 * response-transformer: rewrites response headers (remove, rename, replace, add, append, in Kong's order) and, for
 * JSON responses with JSON operations configured, the body's top-level properties — the only case where the body
 * is buffered; everything else streams through untouched.
 */
import { type ResponseTransformerConfig, splitPair } from '@turnpike/shared'
import { defineHandler, type PluginContext } from '../../pipeline/types.ts'

type JsonType = 'boolean' | 'number' | 'string'

interface Compiled {
  headers: {
    remove: string[]
    rename: [string, string][]
    replace: [string, string][]
    add: [string, string][]
    append: [string, string][]
  }
  json: {
    remove: string[]
    replace: [string, unknown][]
    add: [string, unknown][]
    append: [string, unknown][]
  }
  transformsJson: boolean
}

function cast(value: string, type: JsonType | undefined): unknown {
  if (type === 'number') {
    const n = Number(value)
    return Number.isFinite(n) ? n : value
  }
  if (type === 'boolean') return value === 'true'
  return value
}

function jsonPairs(list: readonly string[], types: readonly JsonType[]): [string, unknown][] {
  return list.map((e, i) => {
    const [k, v] = splitPair(e)
    return [k, cast(v, types[i])]
  })
}

function isJson(ctx: PluginContext): boolean {
  return /application\/(?:[\w.+-]*\+)?json/i.test(ctx.response.header('content-type') ?? '')
}

export const responseTransformerHandler = defineHandler<ResponseTransformerConfig, Compiled>({
  compile(conf) {
    const json = {
      remove: conf.remove.json,
      replace: jsonPairs(conf.replace.json, conf.replace.json_types),
      add: jsonPairs(conf.add.json, conf.add.json_types),
      append: jsonPairs(conf.append.json, conf.append.json_types),
    }
    return {
      headers: {
        remove: conf.remove.headers,
        rename: conf.rename.headers.map(splitPair),
        replace: conf.replace.headers.map(splitPair),
        add: conf.add.headers.map(splitPair),
        append: conf.append.headers.map(splitPair),
      },
      json,
      transformsJson: json.remove.length + json.replace.length + json.add.length + json.append.length > 0,
    }
  },
  response(ctx, c) {
    const res = ctx.response
    const h = c.headers
    for (const name of h.remove) res.clearHeader(name)
    for (const [from, to] of h.rename) {
      const v = res.header(from)
      if (v === undefined) continue
      res.clearHeader(from)
      res.setHeader(to, v)
    }
    for (const [name, v] of h.replace) if (res.header(name) !== undefined) res.setHeader(name, v)
    for (const [name, v] of h.add) if (res.header(name) === undefined) res.setHeader(name, v)
    for (const [name, v] of h.append) res.addHeader(name, v)
    if (c.transformsJson && res.source === 'upstream' && isJson(ctx)) {
      res.clearHeader('content-length')
      res.bufferBody()
    }
  },
  body(ctx, c, body) {
    if (!isJson(ctx)) return body
    let doc: unknown
    try {
      doc = JSON.parse(body.toString('utf8'))
    } catch {
      return body
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return body
    const o = doc as Record<string, unknown>
    for (const k of c.json.remove) delete o[k]
    for (const [k, v] of c.json.replace) if (k in o) o[k] = v
    for (const [k, v] of c.json.add) if (!(k in o)) o[k] = v
    for (const [k, v] of c.json.append) {
      const prev = o[k]
      o[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v]
    }
    return JSON.stringify(o)
  },
})
