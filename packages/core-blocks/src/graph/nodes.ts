import type * as tfl from '@tensorflow/tfjs-layers';

export type GraphNode = tfl.layers.Layer['inboundNodes'][number];

/**
 * The nodes of `model`'s own graph (a layer may also have nodes in other graphs, e.g. a branch applied in several
 * models), in the order of its layers, which is topological for a functional model.
 */
export function nodesOf(model: tfl.LayersModel): Array<{ layer: tfl.layers.Layer; node: GraphNode }> {
  const own = (model as unknown as { containerNodes: Set<string> }).containerNodes;
  return model.layers.flatMap((layer) =>
    layer.inboundNodes.flatMap((node, i) => (own.has(`${layer.name}_ib-${i}`) ? [{ layer, node }] : [])),
  );
}
