// The designer of one flow: palette, canvas, settings, problems (validated by the server as you
// type), save (a new version; a draft while it has problems), export, versions, undo and redo,
// and the Test call panel.
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import { api, ApiError, type Problem, type User } from '../api';
import {
  addElement,
  connect,
  deleteElements,
  renameElement,
  replaceElement,
  setSetting,
  TYPES,
  uniqueName,
  type Element,
  type FlowDoc,
  type Json,
  type Position,
  type Sample,
} from '../flow';
import { autoLayout, withLayout } from '../layout';
import { FlowCanvas } from './FlowCanvas';
import { SettingsPanel } from './SettingsPanel';
import { TestCall } from './TestCall';

export interface Opened {
  key: string;
  name: string;
  doc?: FlowDoc; // new, imported, or a version opened from the list
  version?: number;
  isNew?: boolean;
  imported?: string;
}

interface VersionRow {
  version: number;
  savedBy: string;
  savedAt: string;
  draft?: boolean;
}

// --- the document with its history -------------------------------------------------------------

interface History {
  doc: FlowDoc;
  past: FlowDoc[];
  future: FlowDoc[];
  coalesce: string; // the key of the last edit: typing in one field is one undo step
  at: number;
}

type Action =
  | { type: 'load'; doc: FlowDoc }
  | { type: 'edit'; edit: (doc: FlowDoc) => FlowDoc; coalesce?: string }
  | { type: 'undo' }
  | { type: 'redo' };

const HISTORY_LIMIT = 200;

function reduce(state: History, action: Action): History {
  switch (action.type) {
    case 'load':
      return { doc: action.doc, past: [], future: [], coalesce: '', at: 0 };
    case 'edit': {
      const doc = action.edit(state.doc);
      if (doc === state.doc) return state;
      const now = Date.now();
      const key = action.coalesce ?? '';
      if (key && key === state.coalesce && now - state.at < 1500) return { ...state, doc, future: [], at: now };
      return { doc, past: [...state.past.slice(-HISTORY_LIMIT), state.doc], future: [], coalesce: key, at: now };
    }
    case 'undo':
      if (!state.past.length) return state;
      return { doc: state.past[state.past.length - 1], past: state.past.slice(0, -1), future: [state.doc, ...state.future], coalesce: '', at: 0 };
    case 'redo':
      if (!state.future.length) return state;
      return { doc: state.future[0], past: [...state.past, state.doc], future: state.future.slice(1), coalesce: '', at: 0 };
  }
}

const NAME_RULE = /^[A-Za-z0-9_-]{1,64}$/;

function download(name: string, doc: FlowDoc) {
  const blob = new Blob([`${JSON.stringify(doc, null, 2)}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = `${name}.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function Designer(props: { user: User; opened: Opened; onClose: () => void }) {
  return (
    <ReactFlowProvider>
      <DesignerInner {...props} />
    </ReactFlowProvider>
  );
}

function DesignerInner({ user, opened, onClose }: { user: User; opened: Opened; onClose: () => void }) {
  const editable = user.role === 'admin';
  const staff = editable || user.role === 'supervisor';
  const [history, dispatch] = useReducer(reduce, {
    doc: opened.doc ?? { format: 1, name: opened.name, start: '', elements: [] },
    past: [],
    future: [],
    coalesce: '',
    at: 0,
  });
  const doc = history.doc;
  const [loaded, setLoaded] = useState(!!opened.doc);
  const [savedDoc, setSavedDoc] = useState<FlowDoc | null>(opened.isNew || opened.imported ? null : (opened.doc ?? null));
  const [version, setVersion] = useState(opened.version ?? 0);
  const [selected, setSelected] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [status, setStatus] = useState(opened.imported ? `Imported ${opened.imported}; not saved yet.` : '');
  const [error, setError] = useState('');
  const [panel, setPanel] = useState<'settings' | 'test' | 'versions'>('settings');
  const [lit, setLit] = useState<string[]>([]);
  const [fitKey, setFitKey] = useState(1);
  const [versions, setVersions] = useState<VersionRow[]>([]);
  const [newer, setNewer] = useState<{ version: number; savedBy: string } | null>(null);
  const [prompts, setPrompts] = useState<string[]>([]);
  const settingsRef = useRef<HTMLDivElement>(null);
  const flow = useReactFlow();

  const edit = useCallback((fn: (d: FlowDoc) => FlowDoc, coalesce?: string) => dispatch({ type: 'edit', edit: fn, coalesce }), []);

  // Load the latest saved version (drafts included) unless a document came with the request.
  useEffect(() => {
    if (opened.doc) return;
    api<{ version: number; flow: FlowDoc }>('GET', `/flows/${encodeURIComponent(opened.name)}`)
      .then((got) => {
        const laid = withLayout(got.flow);
        dispatch({ type: 'load', doc: laid });
        setSavedDoc(laid);
        setVersion(got.version);
        setLoaded(true);
        setFitKey((k) => k + 1);
      })
      .catch((e) => setError((e as Error).message));
  }, [opened]);

  useEffect(() => {
    api<{ prompts: { name: string }[] }>('GET', '/prompts')
      .then((got) => setPrompts(got.prompts.map((p) => p.name)))
      .catch(() => setPrompts([]));
  }, []);

  // Validation as you type: the server's validator (the one `callflow check` uses).
  useEffect(() => {
    if (!loaded || !staff) return;
    const timer = window.setTimeout(async () => {
      try {
        const answer = await api<{ valid: boolean; problems: Problem[] }>('POST', '/validate', doc);
        setProblems(answer.problems);
      } catch (e) {
        if (e instanceof ApiError && e.problems.length) setProblems(e.problems);
      }
    }, 200);
    return () => window.clearTimeout(timer);
  }, [doc, loaded, staff]);

  // A save from another browser shows up here.
  useEffect(() => {
    const timer = window.setInterval(async () => {
      try {
        const list = await api<{ flows: { name: string; version: number; savedBy: string }[] }>('GET', '/flows');
        const mine = list.flows.find((f) => f.name === doc.name);
        setNewer(mine && mine.version > version ? { version: mine.version, savedBy: mine.savedBy } : null);
      } catch {
        /* the next round tries again */
      }
    }, 3000);
    return () => window.clearInterval(timer);
  }, [doc.name, version]);

  const loadVersions = useCallback(async () => {
    try {
      const got = await api<{ versions: VersionRow[] }>('GET', `/flows/${encodeURIComponent(doc.name)}/versions`);
      setVersions(got.versions);
    } catch {
      setVersions([]);
    }
  }, [doc.name]);
  useEffect(() => {
    if (panel === 'versions') loadVersions();
  }, [panel, loadVersions]);

  const counts = useMemo(() => {
    const out: Record<string, { errors: number; warnings: number }> = {};
    for (const p of problems) {
      if (!p.element) continue;
      out[p.element] ??= { errors: 0, warnings: 0 };
      if (p.severity === 'error') out[p.element].errors++;
      else out[p.element].warnings++;
    }
    return out;
  }, [problems]);
  const errors = problems.filter((p) => p.severity === 'error').length;
  const dirty = savedDoc === null || JSON.stringify(savedDoc) !== JSON.stringify(doc);

  const save = async () => {
    setError('');
    const path = `/flows/${encodeURIComponent(doc.name)}`;
    try {
      let answer: { version: number; problems: Problem[] };
      let draft = false;
      try {
        answer = await api('PUT', path, doc);
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 422) throw e;
        answer = await api('PUT', `${path}?draft=true`, doc);
        draft = true;
      }
      setSavedDoc(doc);
      setVersion(answer.version);
      setNewer(null);
      setStatus(
        draft
          ? `Saved version ${answer.version} as a draft: not deployed while it has ${errors || 'some'} problem${errors === 1 ? '' : 's'}.`
          : `Saved version ${answer.version}; new calls run it.`,
      );
      if (panel === 'versions') loadVersions();
    } catch (e) {
      setError(`Save: ${(e as Error).message}`);
    }
  };

  const openVersion = async (v: number, restore: boolean): Promise<FlowDoc | null> => {
    try {
      const got = await api<{ flow: FlowDoc }>('GET', `/flows/${encodeURIComponent(doc.name)}/versions/${v}`);
      // A version saved before a rename has the old name inside.
      const laid = withLayout({ ...got.flow, name: doc.name });
      if (restore) {
        // Saved first, shown after: a refused restore leaves the canvas as it was.
        let draft = false;
        try {
          await api('PUT', `/flows/${encodeURIComponent(doc.name)}`, laid);
        } catch (e) {
          if (!(e instanceof ApiError) || e.status !== 422) throw e;
          await api('PUT', `/flows/${encodeURIComponent(doc.name)}?draft=true`, laid);
          draft = true;
        }
        dispatch({ type: 'edit', edit: () => laid });
        setFitKey((k) => k + 1);
        setStatus(`Restored version ${v} as the newest version${draft ? ', a draft (it has problems)' : ''}.`);
        const latest = await api<{ version: number; flow: FlowDoc }>('GET', `/flows/${encodeURIComponent(doc.name)}`);
        setVersion(latest.version);
        setSavedDoc(laid);
        loadVersions();
      } else {
        dispatch({ type: 'edit', edit: () => laid });
        setFitKey((k) => k + 1);
        setStatus(`Opened version ${v}; Save makes it the newest version.`);
      }
      return laid;
    } catch (e) {
      setError(`Version ${v}: ${(e as Error).message}`);
      return null;
    }
  };

  const selectedElement = doc.elements.find((e) => e.name === selected) ?? null;
  const selectNext = (step: number) => {
    if (!doc.elements.length) return;
    const index = doc.elements.findIndex((e) => e.name === selected);
    const next = doc.elements[(index + step + doc.elements.length) % doc.elements.length];
    setSelected(next.name);
    setPanel('settings');
  };

  // A new element goes where it is dropped, else near the middle of the view, below any element
  // already there.
  const place = (type: string, at?: Position) => {
    let position = at;
    if (!position) {
      const box = document.querySelector('.canvas')?.getBoundingClientRect();
      const centre = box ? flow.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 3 }) : { x: 0, y: 0 };
      position = { x: Math.round(centre.x - 100), y: Math.round(centre.y - 36) };
      const taken = Object.values(doc.layout?.nodes ?? {});
      while (taken.some((p) => Math.abs(p.x - position!.x) < 210 && Math.abs(p.y - position!.y) < 100)) position.y += 110;
    }
    const name = uniqueName(doc, type === 'ApiRequest' ? 'API' : type);
    edit((d) => addElement(d, type, position, name));
    setSelected(name);
    setPanel('settings');
  };

  // Keyboard: undo/redo anywhere but in a text field; Alt+N / Alt+P walk the elements.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      const typing = ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
      const mod = event.ctrlKey || event.metaKey;
      if (mod && !typing && event.key.toLowerCase() === 'z') {
        dispatch({ type: event.shiftKey ? 'redo' : 'undo' });
        event.preventDefault();
      } else if (mod && !typing && event.key.toLowerCase() === 'y') {
        dispatch({ type: 'redo' });
        event.preventDefault();
      } else if (event.altKey && (event.key === 'n' || event.key === 'p')) {
        selectNext(event.key === 'n' ? 1 : -1);
        event.preventDefault();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const onSet = (key: string, value: Json | undefined) => {
    if (!selectedElement) return;
    const name = selectedElement.name;
    edit((d) => {
      const element = d.elements.find((e) => e.name === name);
      if (!element) return d;
      let changed = setSetting(element, key, value);
      if (key.startsWith('auth.') && changed.auth && typeof changed.auth === 'object' && !Array.isArray(changed.auth)) {
        // Basic auth is a user and a password: `type` comes with them and goes with the last.
        const { username, password } = changed.auth as Record<string, Json>;
        changed = username || password ? setSetting(changed, 'auth.type', 'basic') : setSetting(changed, 'auth', undefined);
      }
      return replaceElement(d, name, changed);
    }, `${name}.${key}`);
  };

  // Closing the tab with unsaved changes asks first.
  useEffect(() => {
    if (!dirty || !editable) return;
    const onLeave = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener('beforeunload', onLeave);
    return () => window.removeEventListener('beforeunload', onLeave);
  }, [dirty, editable]);

  if (!loaded && !error) return <main className="page">Loading {opened.name}…</main>;

  return (
    <main className="designer" aria-label={`Designer: ${doc.name}`}>
      <div className="designer-bar" role="toolbar" aria-label="Flow">
        <button onClick={() => (!dirty || !editable || window.confirm('Leave without saving your changes?')) && onClose()}>← Flows</button>
        <h2>
          {doc.name}
          <small>
            {version ? ` version ${version}` : ' (not saved)'}
            {dirty && version ? ', changed' : ''}
          </small>
        </h2>
        {editable && (
          <>
            <button onClick={save} disabled={!NAME_RULE.test(doc.name) || !doc.elements.length}>
              Save
            </button>
            <button onClick={() => dispatch({ type: 'undo' })} disabled={!history.past.length} title="Ctrl+Z">
              Undo
            </button>
            <button onClick={() => dispatch({ type: 'redo' })} disabled={!history.future.length} title="Ctrl+Y">
              Redo
            </button>
          </>
        )}
        <button onClick={() => download(doc.name, doc)}>Export</button>
        {editable && (
          <button
            onClick={() => {
              const nodes = autoLayout(doc);
              edit((d) => ({ ...d, layout: { ...(d.layout ?? {}), nodes } }));
              setFitKey((k) => k + 1);
            }}
          >
            Auto layout
          </button>
        )}
        <label className="inline">
          Element
          <select value={selected ?? ''} onChange={(e) => { setSelected(e.target.value || null); setPanel('settings'); }}>
            <option value="">(none)</option>
            {doc.elements.map((e) => (
              <option key={e.name}>{e.name}</option>
            ))}
          </select>
        </label>
        <button onClick={() => selectNext(1)} title="Alt+N">
          Select next element
        </button>
        <button
          disabled={!selectedElement}
          onClick={() => {
            setPanel('settings');
            window.setTimeout(() => settingsRef.current?.querySelector<HTMLElement>('input, select, textarea')?.focus(), 0);
          }}
        >
          Open settings
        </button>
        {editable && selectedElement && (
          <button onClick={() => { edit((d) => deleteElements(d, [selectedElement.name])); setSelected(null); }}>
            Delete element
          </button>
        )}
      </div>
      {newer && (
        <p className="banner" role="status">
          Version {newer.version} was saved by {newer.savedBy}.{' '}
          <button
            onClick={async () => {
              const laid = await openVersion(newer.version, false);
              if (!laid) return;
              setVersion(newer.version);
              setSavedDoc(laid);
              setNewer(null);
              setStatus(`Opened version ${newer.version}, saved by ${newer.savedBy}.`);
            }}
          >
            Open version {newer.version}
          </button>
        </p>
      )}
      {status && <p role="status" className="status">{status}</p>}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="designer-body">
        {editable && (
          <aside className="palette" aria-label="Palette">
            <h3>Elements</h3>
            {TYPES.map((spec) => (
              <button
                key={spec.type}
                className="palette-item"
                draggable
                data-type={spec.type}
                aria-label={`Add ${spec.label}`}
                onDragStart={(event) => {
                  event.dataTransfer.setData('application/x-callflow-type', spec.type);
                  event.dataTransfer.effectAllowed = 'copy';
                }}
                onClick={() => place(spec.type)}
              >
                {spec.label}
              </button>
            ))}
          </aside>
        )}
        <FlowCanvas
          doc={doc}
          selected={selected}
          problemCounts={counts}
          lit={lit}
          editable={editable}
          fitKey={fitKey}
          onSelect={(name) => {
            setSelected(name);
            if (name) setPanel('settings');
          }}
          onMove={(positions) =>
            edit((d) => ({ ...d, layout: { ...(d.layout ?? {}), nodes: { ...(d.layout?.nodes ?? {}), ...positions } } }))
          }
          onConnect={(source, handle, target) => edit((d) => connect(d, source, handle, target))}
          onDisconnect={(edges) => edit((d) => edges.reduce((acc, e) => connect(acc, e.source, e.handle, undefined), d), 'delete')}
          onDelete={(names) => {
            edit((d) => deleteElements(d, names), 'delete');
            setSelected(null);
          }}
          onDropType={(type, at) => place(type, at)}
        />
        <aside className="side" ref={settingsRef}>
          <div role="tablist" aria-label="Panels">
            <button role="tab" aria-selected={panel === 'settings'} onClick={() => setPanel('settings')}>
              Settings
            </button>
            {staff && (
              <button role="tab" aria-selected={panel === 'test'} onClick={() => setPanel('test')}>
                Test call
              </button>
            )}
            <button role="tab" aria-selected={panel === 'versions'} onClick={() => setPanel('versions')}>
              Versions
            </button>
          </div>
          {panel === 'settings' &&
            (selectedElement ? (
              <SettingsPanel
                key={selectedElement.name}
                doc={doc}
                element={selectedElement}
                user={user}
                problems={problems.filter((p) => p.element === selectedElement.name)}
                prompts={prompts}
                editable={editable}
                onSet={onSet}
                onReplace={(element: Element, coalesce?: string) => edit((d) => replaceElement(d, selectedElement.name, element), coalesce)}
                onRename={(to) => {
                  if (!/^[A-Za-z0-9_-]{1,64}$/.test(to)) return 'A name is letters, digits, "_" or "-", no spaces.';
                  if (doc.elements.some((e) => e.name === to)) return `An element named ${to} exists already.`;
                  edit((d) => renameElement(d, selectedElement.name, to));
                  setSelected(to);
                  return null;
                }}
                onConnect={(handle, target) => edit((d) => connect(d, selectedElement.name, handle, target))}
                onMakeStart={() => edit((d) => ({ ...d, start: selectedElement.name }))}
                onSample={(sample: Sample) =>
                  edit((d) => ({ ...d, samples: { ...(d.samples ?? {}), [selectedElement.name]: sample } }))
                }
              />
            ) : (
              <p className="hint">
                Select an element to edit its settings{editable ? ', or add one from the palette (drag it onto the canvas, or click it)' : ''}.
              </p>
            ))}
          {panel === 'test' && staff && <TestCall doc={doc} onPath={setLit} admin={editable} />}
          {panel === 'versions' && (
            <section aria-label="Versions">
              <h3>Versions</h3>
              {versions.length === 0 ? (
                <p>No saved versions.</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th>Version</th>
                      <th>Saved by</th>
                      <th>Saved at</th>
                      <th></th>
                    </tr>
                  </thead>
                  <tbody>
                    {versions.map((v) => (
                      <tr key={v.version}>
                        <td>
                          {v.version}
                          {v.draft ? ' (draft)' : ''}
                        </td>
                        <td>{v.savedBy}</td>
                        <td>{v.savedAt}</td>
                        <td>
                          <button aria-label={`Open version ${v.version}`} onClick={() => openVersion(v.version, false)}>
                            Open
                          </button>
                          {editable && (
                            <button aria-label={`Restore version ${v.version}`} onClick={() => openVersion(v.version, true)}>
                              Restore
                            </button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          )}
        </aside>
      </div>
      {staff && (
        <section className="problems" aria-label="Problems">
          <h3>
            Problems: {errors} error{errors === 1 ? '' : 's'}, {problems.length - errors} warning{problems.length - errors === 1 ? '' : 's'}
          </h3>
          <ul>
            {problems.map((p, i) => (
              <li key={i} className={p.severity}>
                <button
                  onClick={() => {
                    if (p.element) {
                      setSelected(p.element);
                      setPanel('settings');
                    }
                  }}
                >
                  {p.severity === 'error' ? '✖' : '⚠'} {p.element ? `${p.element}` : 'flow'}
                  {p.key ? ` · ${p.key}` : ''}: {p.message}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
