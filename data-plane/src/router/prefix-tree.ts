/**
 * A radix tree of path prefixes. A lookup walks the request path once and visits every stored prefix of it,
 * longest first, so its cost depends on the path's length, not on how many prefixes are stored.
 */

interface Node<T> {
  /** Edge label from the parent. */
  label: string
  children: Map<number, Node<T>> | null
  values: T[] | null
}

export class PrefixTree<T> {
  readonly #root: Node<T> = { label: '', children: null, values: null }

  insert(prefix: string, value: T): void {
    let node = this.#root
    let i = 0
    for (;;) {
      if (i === prefix.length) {
        if (node.values) node.values.push(value)
        else node.values = [value]
        return
      }
      const first = prefix.charCodeAt(i)
      let child = node.children?.get(first)
      if (!child) {
        node.children ??= new Map()
        node.children.set(first, { label: prefix.slice(i), children: null, values: [value] })
        return
      }
      const label = child.label
      let common = 0
      while (
        common < label.length &&
        i + common < prefix.length &&
        label.charCodeAt(common) === prefix.charCodeAt(i + common)
      )
        common++
      if (common < label.length) {
        // The new prefix ends or diverges inside this edge: split it.
        const head: Node<T> = { label: label.slice(0, common), children: new Map(), values: null }
        child.label = label.slice(common)
        head.children!.set(child.label.charCodeAt(0), child)
        node.children!.set(first, head)
        child = head
      }
      node = child
      i += common
    }
  }

  /** Sorts every node's values, once, after all inserts. */
  sortValues(compare: (a: T, b: T) => number): void {
    const stack = [this.#root]
    for (let node = stack.pop(); node; node = stack.pop()) {
      node.values?.sort(compare)
      if (node.children) for (const child of node.children.values()) stack.push(child)
    }
  }

  /** Calls `visit(state, values, prefixLength)` for every stored prefix of `path`, longest first. */
  visit<S>(path: string, state: S, visit: (state: S, values: readonly T[], prefixLength: number) => void): void {
    walk(this.#root, path, 0, state, visit)
  }
}

function walk<T, S>(
  node: Node<T>,
  path: string,
  offset: number,
  state: S,
  visit: (state: S, values: readonly T[], prefixLength: number) => void,
): void {
  if (offset < path.length && node.children) {
    const child = node.children.get(path.charCodeAt(offset))
    if (child && path.startsWith(child.label, offset)) walk(child, path, offset + child.label.length, state, visit)
  }
  if (node.values) visit(state, node.values, offset)
}
