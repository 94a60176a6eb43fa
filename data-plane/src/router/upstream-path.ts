/**
 * The path sent upstream, as Kong's `path_handling = v0` computes it: the service path joined with what is left of
 * the request path (after the matched prefix when `strip_path` is on), avoiding doubled or invented slashes.
 * Kong's default router flavor treats `v1` the same way, so do we.
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
