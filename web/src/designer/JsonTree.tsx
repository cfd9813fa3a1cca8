// A JSON value as a collapsible tree; clicking a scalar copies its fillpoint.
import type { Json } from '../flow';

interface Props {
  value: Json;
  path: string; // the fillpoint path of this value, e.g. GETAPI.Result.items[0]
  onPick: (path: string) => void;
  name?: string;
  depth?: number;
}

export function JsonTree({ value, path, onPick, name, depth = 0 }: Props) {
  const label = name !== undefined ? <span className="json-key">{name}: </span> : null;
  if (value !== null && typeof value === 'object') {
    const entries: [string, Json, string][] = Array.isArray(value)
      ? value.map((v, i) => [String(i), v, `${path}[${i}]`])
      : Object.entries(value).map(([k, v]) => [k, v, `${path}.${k}`]);
    return (
      <details open={depth < 3} className="json-node">
        <summary>
          {label}
          {Array.isArray(value) ? `[${value.length}]` : `{${entries.length}}`}
        </summary>
        <ul>
          {entries.map(([k, v, p]) => (
            <li key={k}>
              <JsonTree value={v} path={p} onPick={onPick} name={k} depth={depth + 1} />
            </li>
          ))}
        </ul>
      </details>
    );
  }
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return (
    <span className="json-leaf">
      {label}
      <button className="json-value" title={`Copy {{${path}}}`} aria-label={`${text}, copy fillpoint {{${path}}}`} onClick={() => onPick(path)}>
        {text}
      </button>
    </span>
  );
}
