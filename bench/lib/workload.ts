/** What the benchmark upstream serves, shared by the upstream target and the suites' sanity checks. */

/** Requests whose path starts with this get the large body. */
export const BIG_PATH = '/big'
export const BIG_BODY_BYTES = 64 * 1024
export const SMALL_BODY = '{"ok":true,"from":"turnpike-bench-upstream"}\n'
export const SMALL_BODY_BYTES = Buffer.byteLength(SMALL_BODY)

/** One request shape the load generator cycles through. */
export interface LoadRequest {
  path: string
  /** Host header; the load generator's default (the target's address) when absent. */
  host?: string
}
