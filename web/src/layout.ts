// Automatic layout for flows that come without positions (imported, or built by hand in JSON):
// dagre's layered layout, top to bottom, in the order the elements run.
import dagre from '@dagrejs/dagre';
import { exitsOf, type FlowDoc, type Position } from './flow';

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 72;

export function autoLayout(doc: FlowDoc): Record<string, Position> {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: 'TB', nodesep: 40, ranksep: 70, marginx: 20, marginy: 20 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const element of doc.elements) graph.setNode(element.name, { width: NODE_WIDTH, height: NODE_HEIGHT });
  const names = new Set(doc.elements.map((e) => e.name));
  for (const element of doc.elements) {
    for (const exit of exitsOf(element)) {
      if (exit.target && names.has(exit.target)) graph.setEdge(element.name, exit.target);
    }
  }
  dagre.layout(graph);
  const out: Record<string, Position> = {};
  for (const element of doc.elements) {
    const node = graph.node(element.name);
    out[element.name] = { x: Math.round(node.x - NODE_WIDTH / 2), y: Math.round(node.y - NODE_HEIGHT / 2) };
  }
  return out;
}

// The document with a position for every element: kept where it has one, laid out where none has.
export function withLayout(doc: FlowDoc): FlowDoc {
  const nodes = doc.layout?.nodes ?? {};
  const missing = doc.elements.filter((e) => !nodes[e.name]);
  if (!missing.length) return doc;
  const laid = missing.length === doc.elements.length ? autoLayout(doc) : null;
  const placed = { ...nodes };
  let y = Math.max(0, ...Object.values(nodes).map((p) => p.y)) + NODE_HEIGHT * 2;
  for (const element of missing) {
    placed[element.name] = laid ? laid[element.name] : { x: 0, y: (y += NODE_HEIGHT + 30) };
  }
  return { ...doc, layout: { ...(doc.layout ?? {}), nodes: placed } };
}
