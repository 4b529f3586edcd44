/**
 * Saved topologies before BN+ReLU fusion had a BatchNorm layer then a ReLU layer where models built today have
 * one BatchNorm with activation 'relu' (same weights, same function). Comparing architectures folds each such
 * pair into the fused form on both sides, so that a model saved before is still recognised.
 */
interface Layer {
  class_name: string;
  name?: string;
  config: { name?: string; layers?: Layer[]; output_layers?: unknown } & Record<string, unknown>;
  inbound_nodes?: unknown;
}

/** The names of the layers a node list (tfjs `inbound_nodes`) reads, e.g. [[['bn', 0, 0, {}]]] -> ['bn']. */
function sources(nodes: unknown): string[] {
  return Array.isArray(nodes) ? nodes.flatMap((n) => (Array.isArray(n) ? n.map((t) => (Array.isArray(t) ? String(t[0]) : '')) : [])) : [];
}

/** `nodes` with references to layer `from` renamed to `to`. */
function rename(nodes: unknown, from: string, to: string): unknown {
  if (!Array.isArray(nodes)) return nodes;
  if (nodes.length > 0 && nodes[0] === from && typeof nodes[1] === 'number') return [to, ...nodes.slice(1)];
  return nodes.map((n) => rename(n, from, to));
}

const isPlainRelu = (l: Layer) =>
  l.class_name === 'ReLU' && l.config.max_value == null && !l.config.negative_slope && !l.config.threshold;

/** Folds every BatchNorm (linear) -> ReLU pair whose BatchNorm feeds nothing else, recursively in nested models. */
export function foldBatchNormRelu<T>(layers: T[]): T[] {
  return fold(layers as unknown as Layer[]).layers as unknown as T[];
}

function fold(layers: Layer[]): { layers: Layer[]; renamed: Map<string, string> } {
  const renamed = new Map<string, string>();
  let ls = layers.map((l) => {
    if (!l.config.layers) return l;
    const inner = fold(l.config.layers);
    let outputs = l.config.output_layers;
    for (const [from, to] of inner.renamed) outputs = rename(outputs, from, to);
    return { ...l, config: { ...l.config, layers: inner.layers, ...(outputs === undefined ? {} : { output_layers: outputs }) } };
  });
  for (const from of ls.filter(isPlainRelu).map((l) => l.config.name!)) {
    const relu = ls.find((l) => l.config.name === from)!;
    const [src, ...more] = sources(relu.inbound_nodes);
    const bn = ls.find((l) => l.config.name === src);
    if (!bn || more.length || bn.class_name !== 'LmBatchNorm' || (bn.config.activation ?? 'linear') !== 'linear') continue;
    if (ls.some((l) => l !== relu && sources(l.inbound_nodes).includes(src!))) continue;
    renamed.set(from, src!);
    ls = ls
      .filter((l) => l !== relu)
      .map((l) => (l === bn ? { ...l, config: { ...l.config, activation: 'relu' } } : { ...l, inbound_nodes: rename(l.inbound_nodes, from, src!) }));
  }
  return { layers: ls, renamed };
}
