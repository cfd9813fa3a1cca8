// The settings of the selected element: one form per type, in the seed product's words, its
// connections (each exit's target chosen from a list: the keyboard way to connect), and for an
// API Request the Test request panel.
import { useEffect, useId, useState } from 'react';
import type { Problem, User } from '../api';
import {
  completions as completionsFor,
  exitsOf,
  getSetting,
  TYPE_BY_NAME,
  type Element,
  type Field,
  type FlowDoc,
  type Json,
} from '../flow';
import { FillInput } from './FillInput';
import { TestRequest } from './TestRequest';
import { ListenButton } from './ListenButton';

interface Props {
  doc: FlowDoc;
  element: Element;
  user: User;
  problems: Problem[];
  prompts: string[];
  editable: boolean;
  onSet: (key: string, value: Json | undefined) => void;
  onReplace: (element: Element, coalesce?: string) => void;
  onRename: (to: string) => string | null; // an error, or null
  onConnect: (handle: string, target: string | undefined) => void;
  onMakeStart: () => void;
  onSample: (sample: FlowDoc['samples'] extends Record<string, infer S> | undefined ? S : never) => void;
}

function TextField(props: { label: string; value: string; onChange: (v: string) => void; disabled?: boolean; help?: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input id={id} value={props.value} disabled={props.disabled} onChange={(e) => props.onChange(e.target.value)} />
      {props.help && <small>{props.help}</small>}
    </div>
  );
}

function NameField({ name, disabled, onRename }: { name: string; disabled: boolean; onRename: (to: string) => string | null }) {
  const id = useId();
  const [text, setText] = useState(name);
  const [error, setError] = useState('');
  useEffect(() => setText(name), [name]);
  const commit = () => {
    if (text === name) return;
    const problem = onRename(text);
    setError(problem ?? '');
    if (problem) setText(name);
  };
  return (
    <div className="field">
      <label htmlFor={id}>Name</label>
      <input
        id={id}
        value={text}
        disabled={disabled}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
      />
      {error && <small className="error">{error}</small>}
    </div>
  );
}

function FieldControl({ field, element, editable, onSet, completions, problem }: {
  field: Field;
  element: Element;
  editable: boolean;
  onSet: (key: string, value: Json | undefined) => void;
  completions: string[];
  problem?: Problem;
}) {
  const id = useId();
  const value = getSetting(element, field.key);
  const message = problem && <small className="error field-problem">{problem.message}</small>;
  switch (field.kind) {
    case 'fill':
    case 'fillArea':
      return (
        <div>
          <FillInput
            label={field.label}
            value={typeof value === 'string' ? value : Array.isArray(value) ? value.join(', ') : ''}
            onChange={(v) => onSet(field.key, v)}
            completions={completions}
            multiline={field.kind === 'fillArea'}
            disabled={!editable}
            help={field.help}
            invalid={!!problem}
          />
          {message}
        </div>
      );
    case 'number':
      return (
        <div className="field">
          <label htmlFor={id}>{field.label}</label>
          <input
            id={id}
            type="number"
            step="any"
            disabled={!editable}
            aria-invalid={!!problem || undefined}
            value={typeof value === 'number' ? String(value) : ''}
            onChange={(e) => onSet(field.key, e.target.value === '' ? undefined : Number(e.target.value))}
          />
          {message}
        </div>
      );
    case 'bool':
      return (
        <div className="field check">
          <input id={id} type="checkbox" disabled={!editable} checked={value === true} onChange={(e) => onSet(field.key, e.target.checked || undefined)} />
          <label htmlFor={id}>{field.label}</label>
          {message}
        </div>
      );
    case 'select':
      return (
        <div className="field">
          <label htmlFor={id}>{field.label}</label>
          <select id={id} disabled={!editable} value={typeof value === 'string' ? value : ''} onChange={(e) => onSet(field.key, e.target.value || undefined)}>
            <option value="">(default)</option>
            {field.options!.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
          {message}
        </div>
      );
    default:
      return (
        <div className="field">
          <label htmlFor={id}>{field.label}</label>
          <input id={id} disabled={!editable} value={typeof value === 'string' ? value : ''} onChange={(e) => onSet(field.key, e.target.value)} />
          {message}
        </div>
      );
  }
}

function PhraseField({ label, value, prompts, editable, onChange, problem }: {
  label: string;
  value: string[];
  prompts: string[];
  editable: boolean;
  onChange: (files: string[] | undefined) => void;
  problem?: Problem;
}) {
  const id = useId();
  const [text, setText] = useState(value.join(', '));
  useEffect(() => setText(value.join(', ')), [value.join('\n')]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        list={`${id}-prompts`}
        disabled={!editable}
        value={text}
        placeholder="please-wait.wav"
        onChange={(e) => {
          setText(e.target.value);
          const files = e.target.value.split(',').map((s) => s.trim()).filter(Boolean);
          onChange(files.length ? files : undefined);
        }}
      />
      <datalist id={`${id}-prompts`}>
        {prompts.map((p) => (
          <option key={p} value={p} />
        ))}
      </datalist>
      <small>audio prompts, comma-separated{prompts.length ? `; uploaded: ${prompts.slice(0, 6).join(', ')}` : ''}</small>
      {problem && <small className="error field-problem">{problem.message}</small>}
    </div>
  );
}

// Branch values and Menu options: a row each, with its own exit.
function BranchValues({ element, editable, onReplace }: { element: Element; editable: boolean; onReplace: Props['onReplace'] }) {
  const branches = (Array.isArray(element.branches) ? element.branches : []) as Record<string, Json>[];
  const ops = ['equals', 'notEquals', 'contains', 'startsWith', 'regex', 'lt', 'le', 'gt', 'ge', 'empty', 'notEmpty'];
  const update = (list: Record<string, Json>[]) => onReplace({ ...element, branches: list }, `${element.name}.branches`);
  return (
    <fieldset>
      <legend>Values</legend>
      {branches.map((branch, i) => (
        <div className="row" key={i}>
          <span className="exit-number">{i}</span>
          <select aria-label={`Value ${i} operator`} disabled={!editable} value={(branch.op as string) ?? 'equals'}
            onChange={(e) => update(branches.map((b, j) => (j === i ? { ...b, op: e.target.value } : b)))}>
            {ops.map((op) => (
              <option key={op}>{op}</option>
            ))}
          </select>
          <input aria-label={`Value ${i}`} disabled={!editable} value={String(branch.value ?? '')}
            onChange={(e) => update(branches.map((b, j) => (j === i ? { ...b, value: e.target.value } : b)))} />
          <button aria-label={`Remove value ${i}`} disabled={!editable} onClick={() => update(branches.filter((_, j) => j !== i))}>
            ✕
          </button>
        </div>
      ))}
      <button disabled={!editable || branches.length >= 20} onClick={() => update([...branches, { value: '' }])}>
        Add value
      </button>
    </fieldset>
  );
}

function MenuOptions({ element, editable, onReplace }: { element: Element; editable: boolean; onReplace: Props['onReplace'] }) {
  const options = (element.options && typeof element.options === 'object' && !Array.isArray(element.options) ? element.options : {}) as Record<string, Json>;
  const free = '0123456789*#'.split('').find((d) => !(d in options));
  return (
    <fieldset>
      <legend>Options</legend>
      {Object.keys(options).map((digit) => (
        <div className="row" key={digit}>
          <span className="exit-number">Key {digit}</span>
          <button aria-label={`Remove key ${digit}`} disabled={!editable}
            onClick={() => {
              const copy = { ...options };
              delete copy[digit];
              onReplace({ ...element, options: copy });
            }}>
            ✕
          </button>
        </div>
      ))}
      <button disabled={!editable || !free} onClick={() => free && onReplace({ ...element, options: { ...options, [free]: '' } })}>
        Add key
      </button>
    </fieldset>
  );
}

function LeadFields({ element, editable, onReplace, completions }: { element: Element; editable: boolean; onReplace: Props['onReplace']; completions: string[] }) {
  const fields = (element.fields && typeof element.fields === 'object' && !Array.isArray(element.fields) ? element.fields : {}) as Record<string, Json>;
  const [newField, setNewField] = useState('');
  return (
    <fieldset>
      <legend>Lead fields</legend>
      {Object.entries(fields).map(([key, value]) => (
        <div className="row" key={key}>
          <FillInput label={key} value={String(value ?? '')} completions={completions} disabled={!editable}
            onChange={(v) => onReplace({ ...element, fields: { ...fields, [key]: v } }, `${element.name}.fields.${key}`)} />
          <button aria-label={`Remove field ${key}`} disabled={!editable}
            onClick={() => {
              const copy = { ...fields };
              delete copy[key];
              onReplace({ ...element, fields: copy });
            }}>
            ✕
          </button>
        </div>
      ))}
      <div className="row">
        <input aria-label="New lead field" placeholder="name, city, field:158…" value={newField} disabled={!editable} onChange={(e) => setNewField(e.target.value)} />
        <button disabled={!editable || !newField} onClick={() => { onReplace({ ...element, fields: { ...fields, [newField]: '' } }); setNewField(''); }}>
          Add field
        </button>
      </div>
    </fieldset>
  );
}

export function SettingsPanel(props: Props) {
  const { doc, element, user, problems, prompts, editable, onSet } = props;
  const spec = TYPE_BY_NAME[element.type];
  const completions = completionsFor(doc, element.name);
  const problemFor = (key: string) => problems.find((p) => p.key === key || p.key.startsWith(`${key}.`));
  const fields = spec?.fields ?? [];
  const others = doc.elements.filter((e) => e.name !== element.name).map((e) => e.name);
  const staff = user.role === 'admin' || user.role === 'supervisor';
  return (
    <section className="settings" aria-label={`Settings of ${element.name}`}>
      <h3>
        {spec?.label ?? element.type}: {element.name}
      </h3>
      <NameField name={element.name} disabled={!editable} onRename={props.onRename} />
      <TextField label="Description" value={String(element.description ?? '')} disabled={!editable} onChange={(v) => onSet('description', v)} />
      <FieldControl field={{ key: 'agentsCanSee', label: 'Agents Can See This', kind: 'bool' }} element={element} editable={editable} onSet={onSet} completions={[]} />
      <FieldControl field={{ key: 'supervisorCanSee', label: 'Supervisor Can See This', kind: 'bool' }} element={element} editable={editable} onSet={onSet} completions={[]} />
      <TextField label="Result Code" value={String(element.resultCode ?? '')} disabled={!editable} onChange={(v) => onSet('resultCode', v)} help='"default" or a code such as SALE' />
      {spec?.phrase && (
        <PhraseField label={spec.phrase} value={Array.isArray(element.phrase) ? (element.phrase as string[]) : []} prompts={prompts} editable={editable}
          onChange={(files) => onSet('phrase', files)} problem={problemFor('phrase')} />
      )}
      {fields.filter((f) => !f.advanced).map((field) => (
        <FieldControl key={field.key} field={field} element={element} editable={editable} onSet={onSet} completions={completions} problem={problemFor(field.key)} />
      ))}
      {element.type === 'Branch' && <BranchValues element={element} editable={editable} onReplace={props.onReplace} />}
      {element.type === 'Menu' && <MenuOptions element={element} editable={editable} onReplace={props.onReplace} />}
      {element.type === 'CreateLead' && <LeadFields element={element} editable={editable} onReplace={props.onReplace} completions={completions} />}
      {fields.some((f) => f.advanced) && (
        <details className="advanced">
          <summary>Advanced</summary>
          {fields.filter((f) => f.advanced).map((field) => (
            <FieldControl key={field.key} field={field} element={element} editable={editable} onSet={onSet} completions={completions} problem={problemFor(field.key)} />
          ))}
        </details>
      )}
      {element.type === 'TextToSpeech' && staff && <ListenButton text={String(element.text ?? '')} />}
      <fieldset className="connections">
        <legend>Connections</legend>
        {exitsOf(element).map((exit) => {
          const id = `exit-${element.name}-${exit.handle}`;
          return (
            <div className="field" key={exit.handle}>
              <label htmlFor={id}>{`Exit ${exit.label} goes to`}</label>
              <select id={id} disabled={!editable} value={exit.target ?? ''} onChange={(e) => props.onConnect(exit.handle, e.target.value || undefined)}>
                <option value="">{exit.handle.includes(':') ? '(not connected)' : '(ends the call)'}</option>
                {others.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            </div>
          );
        })}
        {doc.start === element.name ? (
          <p>This is the start element.</p>
        ) : (
          <button disabled={!editable} onClick={props.onMakeStart}>
            Make this the start
          </button>
        )}
      </fieldset>
      {element.type === 'ApiRequest' && user.role === 'admin' && <TestRequest doc={doc} element={element} onSample={props.onSample} />}
    </section>
  );
}
