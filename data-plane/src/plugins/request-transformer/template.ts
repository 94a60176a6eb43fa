/**
 * Kong's request-transformer templates, the common forms of its Lua expressions: `$(headers.name)`,
 * `$(headers["x-name"])`, `$(query_params.q)`, `$(uri_captures.name)`, `$(uri_captures[1])`, `$(shared.key)`,
 * each optionally `or "default"`. `\$(` is a literal. A value whose template finds nothing is not applied.
 */
import type { PluginContext } from '../../pipeline/types.ts'

type Source = 'headers' | 'query_params' | 'uri_captures' | 'shared'
type Part = string | { source: Source; key: string | number; fallback: string | undefined }

export type Template = readonly Part[] | string

const EXPR =
  /^\s*(headers|query_params|uri_captures|shared)\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:"([^"]*)"|'([^']*)'|(\d+))\s*\])\s*(?:or\s+(?:"([^"]*)"|'([^']*)'))?\s*$/

/** Compiles a value; a plain string stays a string. Throws on an expression it cannot evaluate. */
export function compileTemplate(value: string): Template {
  if (!value.includes('$(')) return value
  const parts: Part[] = []
  let rest = value
  while (rest.length) {
    const at = rest.indexOf('$(')
    if (at === -1) {
      parts.push(rest)
      break
    }
    if (at > 0 && rest[at - 1] === '\\') {
      parts.push(`${rest.slice(0, at - 1)}$(`)
      rest = rest.slice(at + 2)
      continue
    }
    const end = rest.indexOf(')', at)
    if (end === -1) throw new Error(`unterminated template in '${value}'`)
    if (at > 0) parts.push(rest.slice(0, at))
    const m = EXPR.exec(rest.slice(at + 2, end))
    if (!m) throw new Error(`unsupported template expression '${rest.slice(at, end + 1)}'`)
    const key = m[5] !== undefined ? Number(m[5]) : (m[2] ?? m[3] ?? m[4] ?? '')
    parts.push({ source: m[1] as Source, key, fallback: m[6] ?? m[7] })
    rest = rest.slice(end + 1)
  }
  return parts
}

function lookup(ctx: PluginContext, source: Source, key: string | number): string | undefined {
  switch (source) {
    case 'headers':
      return ctx.request.header(String(key).toLowerCase().replaceAll('_', '-'))
    case 'query_params': {
      const v = ctx.request.query[String(key)]
      return Array.isArray(v) ? v[0] : v
    }
    case 'uri_captures': {
      const c = ctx.request.captures
      if (!c) return undefined
      return typeof key === 'number' ? c[key] : c.groups?.[key]
    }
    case 'shared': {
      const v = ctx.shared[String(key)]
      return v === undefined || v === null ? undefined : String(v)
    }
  }
}

/** The value for this request, or undefined when a template found nothing (and had no default). */
export function render(ctx: PluginContext, t: Template): string | undefined {
  if (typeof t === 'string') return t
  let out = ''
  for (const p of t) {
    if (typeof p === 'string') out += p
    else {
      const v = lookup(ctx, p.source, p.key) ?? p.fallback
      if (v === undefined) return undefined
      out += v
    }
  }
  return out
}
