/**
 * Strongly connected components (Tarjan, iterative so deep graphs cannot
 * overflow the stack). Linear in nodes + edges.
 *
 * `successors(i)` lists the nodes that node i points to; only nodes for which
 * `include(i)` holds take part.
 */
export function stronglyConnectedComponents(
  nodeCount: number,
  successors: (node: number) => ArrayLike<number>,
  include: (node: number) => boolean = () => true,
): number[][] {
  const index = new Int32Array(nodeCount).fill(-1);
  const lowlink = new Int32Array(nodeCount);
  const onStack = new Uint8Array(nodeCount);
  const stack: number[] = [];
  const components: number[][] = [];
  let nextIndex = 0;

  // Explicit call stack: (node, position in its successor list).
  const callNode: number[] = [];
  const callEdge: number[] = [];

  for (let root = 0; root < nodeCount; root++) {
    if (!include(root) || index[root] !== -1) continue;
    callNode.push(root);
    callEdge.push(0);
    index[root] = lowlink[root] = nextIndex++;
    stack.push(root);
    onStack[root] = 1;

    while (callNode.length > 0) {
      const top = callNode.length - 1;
      const v = callNode[top]!;
      const next = successors(v);
      const e = callEdge[top]!;
      if (e < next.length) {
        callEdge[top] = e + 1;
        const w = next[e]!;
        if (!include(w)) continue;
        if (index[w] === -1) {
          index[w] = lowlink[w] = nextIndex++;
          stack.push(w);
          onStack[w] = 1;
          callNode.push(w);
          callEdge.push(0);
        } else if (onStack[w]) {
          lowlink[v] = Math.min(lowlink[v]!, index[w]!);
        }
        continue;
      }
      // All successors done: pop v, propagate lowlink, emit a component at its root.
      callNode.pop();
      callEdge.pop();
      if (callNode.length > 0) {
        const parent = callNode[callNode.length - 1]!;
        lowlink[parent] = Math.min(lowlink[parent]!, lowlink[v]!);
      }
      if (lowlink[v] === index[v]) {
        const component: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          component.push(w);
        } while (w !== v);
        components.push(component);
      }
    }
  }
  return components;
}
