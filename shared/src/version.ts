/** Turnpike's own version, reported by both planes and compared on the sync stream. */
export const TURNPIKE_VERSION = '0.1.0'
