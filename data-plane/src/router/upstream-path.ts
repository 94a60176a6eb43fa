/**
 * The path sent upstream, from the service path and what is left of the request path (after the matched prefix
 * when `strip_path` is on). `path_handling = v0` joins them as segments, avoiding doubled or invented slashes;
 * `v1` is Kong's older plain concatenation, kept for configs that rely on it (Kong's traditional router applies it;
 * its ATC flavors silently fall back to v0, which would change upstream paths under users' feet).
 */

/** Drops a leading `.`/`..` segment left over after stripping (Kong's sanitize_uri_postfix). */
function sanitizePostfix(postfix: string): string {
  if (postfix === '.' || postfix === '..') return ''
  if (postfix.startsWith('./')) return postfix.slice(2)
  if (postfix.startsWith('../')) return postfix.slice(3)
  return postfix
}

/**
 * @param path normalized request path
 * @param matched the part of `path` the route matched (a prefix or a regex match), undefined for a path-less route
 * @param stripPath the route's `strip_path`
 * @param base the service's `path`, or `/`
 */
export function upstreamPath(path: string, matched: string | undefined, stripPath: boolean, base: string): string {
  const strip = stripPath && matched !== undefined
  const postfix = sanitizePostfix(strip ? path.slice(matched.length) : path.slice(1))
  if (base.endsWith('/')) {
    if (!stripPath) return base + path.slice(1)
    if (postfix === '') {
      if (base === '/') return '/'
      return path.endsWith('/') ? base : base.slice(0, -1)
    }
    return postfix.startsWith('/') ? base.slice(0, -1) + postfix : base + postfix
  }
  if (!stripPath) return path === '/' ? base : base + path
  if (postfix === '') return path.length > 1 && path.endsWith('/') ? `${base}/` : base
  return postfix.startsWith('/') ? base + postfix : `${base}/${postfix}`
}

/** Kong's `path_handling = v1`: the service path and the remainder are concatenated, only a doubled `/` removed. */
export function upstreamPathV1(path: string, matched: string | undefined, stripPath: boolean, base: string): string {
  if (!stripPath || matched === undefined) return base + path.slice(1)
  const postfix = sanitizePostfix(path.slice(matched.length))
  return base.endsWith('/') && postfix.startsWith('/') ? base.slice(0, -1) + postfix : base + postfix
}
