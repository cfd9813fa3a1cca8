// A text field that takes fillpoints: typing `{{` offers the paths that element can read (call
// variables, properties set earlier, earlier results); arrows choose, Enter or Tab inserts.
import { useId, useMemo, useRef, useState } from 'react';

interface Props {
  label: string;
  value: string;
  onChange: (value: string) => void;
  completions: string[];
  multiline?: boolean;
  disabled?: boolean;
  help?: string;
  invalid?: boolean;
}

// The partial path after the last unclosed `{{` before the caret, or null.
function openFillpoint(text: string, caret: number): { start: number; partial: string } | null {
  const before = text.slice(0, caret);
  const open = before.lastIndexOf('{{');
  if (open < 0 || before.indexOf('}}', open) >= 0) return null;
  const partial = before.slice(open + 2).trimStart();
  if (/[\s|}]/.test(partial)) return null;
  return { start: open, partial };
}

export function FillInput({ label, value, onChange, completions, multiline, disabled, help, invalid }: Props) {
  const id = useId();
  const listId = `${id}-list`;
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const [caret, setCaret] = useState<number | null>(null);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState(false);

  const open = caret === null || dismissed ? null : openFillpoint(value, caret);
  const matches = useMemo(() => {
    if (!open) return [];
    // Paths that start with what was typed first, then those with a part that does, then the rest.
    const needle = open.partial.toLowerCase();
    const rank = (path: string) => {
      const lower = path.toLowerCase();
      if (lower.startsWith(needle)) return 0;
      if (lower.split(/[.[]/).some((part) => part.startsWith(needle))) return 1;
      return lower.includes(needle) ? 2 : 3;
    };
    return completions
      .map((path) => ({ path, rank: rank(path) }))
      .filter((c) => c.rank < 3)
      .sort((a, b) => a.rank - b.rank)
      .map((c) => c.path)
      .slice(0, 30);
  }, [open, completions]);
  const showing = !!open && matches.length > 0;

  const choose = (path: string) => {
    if (!open || caret === null) return;
    // The rest of a path being edited goes, with its `}}`; a filter after it (`| default: …`)
    // stays; text that is not part of this fillpoint is never touched.
    const rest = value.slice(caret);
    const tail = rest.match(/^[^\s{}|]*\s*(\}\}|\|)/);
    let next: string;
    if (tail?.[1] === '}}') next = `${value.slice(0, open.start)}{{${path}}}${rest.slice(tail[0].length)}`;
    else if (tail?.[1] === '|') next = `${value.slice(0, open.start)}{{${path} ${rest.slice(tail[0].length - 1)}`;
    else next = `${value.slice(0, open.start)}{{${path}}}${rest}`;
    onChange(next);
    const at = open.start + path.length + (tail?.[1] === '|' ? 2 : 4);
    setCaret(null);
    requestAnimationFrame(() => {
      ref.current?.focus();
      ref.current?.setSelectionRange(at, at);
    });
  };

  const common = {
    id,
    ref,
    value,
    disabled,
    role: 'combobox',
    'aria-autocomplete': 'list' as const,
    'aria-expanded': showing,
    'aria-controls': listId,
    'aria-invalid': invalid || undefined,
    'aria-activedescendant': showing ? `${listId}-${active}` : undefined,
    onChange: (event: React.ChangeEvent<HTMLInputElement & HTMLTextAreaElement>) => {
      onChange(event.target.value);
      setCaret(event.target.selectionStart);
      setActive(0);
      setDismissed(false);
    },
    onSelect: (event: React.SyntheticEvent<HTMLInputElement & HTMLTextAreaElement>) =>
      setCaret((event.target as HTMLInputElement).selectionStart),
    onBlur: () => window.setTimeout(() => setCaret(null), 150),
    onKeyDown: (event: React.KeyboardEvent) => {
      if (!showing) return;
      if (event.key === 'ArrowDown') setActive((active + 1) % matches.length);
      else if (event.key === 'ArrowUp') setActive((active + matches.length - 1) % matches.length);
      else if (event.key === 'Enter' || event.key === 'Tab') choose(matches[Math.min(active, matches.length - 1)]);
      else if (event.key === 'Escape') setDismissed(true);
      else return;
      event.preventDefault();
      event.stopPropagation();
    },
  };

  return (
    <div className="field fill">
      <label htmlFor={id}>{label}</label>
      {multiline ? <textarea rows={3} {...common} /> : <input {...common} />}
      {help && <small>{help}</small>}
      {showing && (
        <ul className="completions" role="listbox" id={listId} aria-label={`Fillpoints for ${label}`}>
          {matches.map((path, i) => (
            <li
              key={path}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              className={i === active ? 'active' : undefined}
              onMouseDown={(event) => {
                event.preventDefault();
                choose(path);
              }}
            >
              {`{{${path}}}`}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
