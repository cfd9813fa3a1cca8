// The canvas: one node per element (name, type, one handle per exit), one edge per connection,
// labelled with its exit. Used for editing and, read-only, to draw a call's path.
import { memo, useCallback, useEffect, useMemo, useState } from 'react';
import {
  applyNodeChanges,
  Background,
  Controls,
  Handle,
  MiniMap,
  Position as Side,
  ReactFlow,
  useReactFlow,
  type Connection,
  type Edge,
  type Node,
  type NodeChange,
  type NodeProps,
} from '@xyflow/react';
import { exitsOf, TYPE_BY_NAME, type Element, type FlowDoc, type Position } from '../flow';

export interface ElementNodeData extends Record<string, unknown> {
  element: Element;
  start: boolean;
  errors: number;
  warnings: number;
  lit: boolean;
}

const ElementNode = memo(function ElementNode({ data, selected }: NodeProps<Node<ElementNodeData>>) {
  const { element, start, errors, warnings, lit } = data;
  const exits = exitsOf(element);
  const classes = ['element-node'];
  if (selected) classes.push('selected');
  if (errors) classes.push('has-error');
  else if (warnings) classes.push('has-warning');
  if (lit) classes.push('lit');
  return (
    <div className={classes.join(' ')} data-element={element.name} data-testid={`node-${element.name}`}>
      <Handle type="target" position={Side.Top} id="in" />
      <div className="node-name">
        {start && <span className="start-mark" title="start">▶ </span>}
        {element.name}
      </div>
      <div className="node-type">{TYPE_BY_NAME[element.type]?.label ?? element.type}</div>
      {errors > 0 && <div className="node-problems">{errors} problem{errors > 1 ? 's' : ''}</div>}
      <div className="node-exits">
        {exits.map((exit, i) => (
          <div className="node-exit" key={exit.handle} style={{ left: `${((i + 1) * 100) / (exits.length + 1)}%` }}>
            <span className="exit-label">{exit.label}</span>
            <Handle
              type="source"
              position={Side.Bottom}
              id={exit.handle}
              data-exit={exit.handle}
              aria-label={`${element.name} exit ${exit.label}`}
            />
          </div>
        ))}
      </div>
    </div>
  );
});

const NODE_TYPES = { element: ElementNode };

export interface CanvasProps {
  doc: FlowDoc;
  selected?: string | null;
  problemCounts?: Record<string, { errors: number; warnings: number }>;
  lit?: string[]; // a call's path
  editable?: boolean;
  onSelect?: (name: string | null) => void;
  onMove?: (positions: Record<string, Position>) => void;
  onConnect?: (source: string, handle: string, target: string) => void;
  onDisconnect?: (edges: { source: string; handle: string }[]) => void;
  onDelete?: (names: string[]) => void;
  onDropType?: (type: string, position: Position) => void;
  fitKey?: number; // fits the view again when it changes
}

export function FlowCanvas(props: CanvasProps) {
  const { doc, selected, problemCounts, lit, editable, fitKey } = props;
  const flow = useReactFlow();
  const litSet = useMemo(() => new Set(lit ?? []), [lit]);
  const litSteps = useMemo(() => {
    const steps = new Set<string>();
    for (let i = 0; i + 1 < (lit?.length ?? 0); ++i) steps.add(`${lit![i]}>${lit![i + 1]}`);
    return steps;
  }, [lit]);

  const built = useMemo<Node<ElementNodeData>[]>(
    () =>
      doc.elements.map((element) => ({
        id: element.name,
        type: 'element',
        position: doc.layout?.nodes?.[element.name] ?? { x: 0, y: 0 },
        selected: element.name === selected,
        ariaLabel: `${element.name}, ${TYPE_BY_NAME[element.type]?.label ?? element.type}`,
        data: {
          element,
          start: doc.start === element.name,
          errors: problemCounts?.[element.name]?.errors ?? 0,
          warnings: problemCounts?.[element.name]?.warnings ?? 0,
          lit: litSet.has(element.name),
        },
      })),
    [doc, selected, problemCounts, litSet],
  );

  // React Flow keeps measured sizes and drag positions on its nodes: keep ours in step with the
  // document, carrying those over.
  const [nodes, setNodes] = useState<Node<ElementNodeData>[]>(built);
  useEffect(() => {
    setNodes((previous) => {
      const byId = new Map(previous.map((n) => [n.id, n]));
      return built.map((n) => {
        const old = byId.get(n.id);
        return old ? { ...old, ...n, measured: old.measured } : n;
      });
    });
  }, [built]);

  const edges = useMemo<Edge[]>(() => {
    const names = new Set(doc.elements.map((e) => e.name));
    const out: Edge[] = [];
    for (const element of doc.elements) {
      for (const exit of exitsOf(element)) {
        if (!exit.target || !names.has(exit.target)) continue;
        const on = litSteps.has(`${element.name}>${exit.target}`);
        out.push({
          id: `${element.name}:${exit.handle}`,
          source: element.name,
          sourceHandle: exit.handle,
          target: exit.target,
          targetHandle: 'in',
          label: exit.label,
          className: on ? 'lit' : undefined,
          animated: on,
          deletable: !!editable,
          ariaLabel: `${element.name} ${exit.label} to ${exit.target}`,
        });
      }
    }
    return out;
  }, [doc, litSteps, editable]);

  useEffect(() => {
    if (fitKey === undefined) return;
    const timer = window.setTimeout(() => flow.fitView({ padding: 0.15, duration: 0, maxZoom: 1 }), 30);
    return () => window.clearTimeout(timer);
  }, [fitKey, flow]);

  const onNodesChange = useCallback(
    (changes: NodeChange<Node<ElementNodeData>>[]) => {
      setNodes((current) => applyNodeChanges(changes.filter((c) => c.type !== 'remove'), current));
      for (const change of changes) {
        if (change.type === 'select' && change.selected) props.onSelect?.(change.id);
      }
      const moved = changes.filter((c) => c.type === 'position' && c.dragging === false);
      if (moved.length && props.onMove) {
        setNodes((current) => {
          const positions: Record<string, Position> = {};
          for (const node of current) {
            if (moved.some((c) => c.type === 'position' && c.id === node.id)) {
              positions[node.id] = { x: Math.round(node.position.x), y: Math.round(node.position.y) };
            }
          }
          queueMicrotask(() => props.onMove?.(positions));
          return current;
        });
      }
    },
    [props],
  );

  const onConnect = useCallback(
    (connection: Connection) => {
      if (connection.sourceHandle && connection.target) {
        props.onConnect?.(connection.source, connection.sourceHandle, connection.target);
      }
    },
    [props],
  );

  return (
    <div
      className="canvas"
      onDragOver={(event) => {
        if (editable && event.dataTransfer.types.includes('application/x-callflow-type')) {
          event.preventDefault();
          event.dataTransfer.dropEffect = 'copy';
        }
      }}
      onDrop={(event) => {
        const type = event.dataTransfer.getData('application/x-callflow-type');
        if (!editable || !type) return;
        event.preventDefault();
        const at = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
        props.onDropType?.(type, { x: Math.round(at.x - 100), y: Math.round(at.y - 20) });
      }}
    >
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        onNodesChange={onNodesChange}
        onConnect={onConnect}
        onNodesDelete={(deleted) => props.onDelete?.(deleted.map((n) => n.id))}
        onEdgesDelete={(deleted) =>
          props.onDisconnect?.(deleted.map((e) => ({ source: e.source, handle: e.sourceHandle ?? '' })))
        }
        onPaneClick={() => props.onSelect?.(null)}
        nodesDraggable={!!editable}
        nodesConnectable={!!editable}
        elementsSelectable
        deleteKeyCode={editable ? ['Delete', 'Backspace'] : null}
        minZoom={0.1}
        fitView
        fitViewOptions={{ padding: 0.15, maxZoom: 1 }}
        defaultViewport={{ x: 40, y: 40, zoom: 1 }}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
        <MiniMap pannable zoomable ariaLabel="Mini map of the flow" style={{ width: 120, height: 80 }} />
      </ReactFlow>
    </div>
  );
}
