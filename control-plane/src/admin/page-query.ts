/** Kong's list query: `size` (1–1000, default 100), opaque `offset`, `tags=a,b` (AND) or `tags=a/b` (OR), ≤ 5 tags. */
import { TurnpikeError } from '@turnpike/shared'
import type { Page, PageOptions } from '../db/entity-store.ts'

const DEFAULT_SIZE = 100
const MAX_SIZE = 1000
const MAX_TAGS = 5
// Printable ASCII but ',' and '/', plus non-ASCII (`kong/api/endpoints.lua`).
const TAG = '[\\x20-\\x2B\\x2D\\x2E\\x30-\\x7E\\u0080-\\uFFFF]+'
const TAGS_AND = new RegExp(`^${TAG}(,${TAG})*$`, 'u')
const TAGS_OR = new RegExp(`^${TAG}(/${TAG})*$`, 'u')

export interface PageQuery extends PageOptions {
  /** The `tags` parameter as given, echoed into the `next` link. */
  rawTags?: string
}

function first(v: unknown): string | undefined {
  const s = Array.isArray(v) ? v[0] : v
  return typeof s === 'string' ? s : undefined
}

function invalidOption(name: string, why: string): TurnpikeError {
  return new TurnpikeError('INVALID_OPTIONS', `invalid option (${name}: ${why})`, { [name]: why })
}

export function parsePageQuery(query: Record<string, unknown>): PageQuery {
  const rawSize = first(query.size)
  let size = DEFAULT_SIZE
  if (rawSize !== undefined) {
    size = Number(rawSize)
    if (rawSize.trim() === '' || Number.isNaN(size)) throw new TurnpikeError('INVALID_SIZE', 'size must be a number')
    if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE)
      throw new TurnpikeError('INVALID_SIZE', `size must be an integer between 1 and ${MAX_SIZE}`)
  }
  const out: PageQuery = { size, offset: first(query.offset) }
  const rawTags = first(query.tags)
  if (rawTags !== undefined) {
    const mode = TAGS_AND.test(rawTags) ? 'and' : TAGS_OR.test(rawTags) ? 'or' : undefined
    if (!mode) throw invalidOption('tags', "invalid filter: use 'a,b' to match all tags or 'a/b' to match any")
    const values = rawTags.split(mode === 'and' ? ',' : '/')
    if (values.length > MAX_TAGS) throw invalidOption('tags', `cannot query more than ${MAX_TAGS} tags`)
    out.tags = { values, mode }
    out.rawTags = rawTags
  }
  return out
}

/**
 * Kong's page body: `{data, next: null}` on the last page, else `{data, offset, next}` with `next` the link to the
 * following page (tags and `extra` query parameters carried over).
 */
export function pageBody(
  page: Page,
  path: string,
  q: PageQuery,
  extra: Record<string, string | undefined> = {},
): { data: unknown[]; offset?: string; next: string | null } {
  if (!page.offset) return { data: page.data, next: null }
  let query = `offset=${encodeURIComponent(page.offset)}`
  if (q.rawTags !== undefined) query += `&tags=${encodeURIComponent(q.rawTags)}`
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) query += `&${k}=${encodeURIComponent(v)}`
  return { data: page.data, offset: page.offset, next: `${path}?${query}&size=${q.size}` }
}
