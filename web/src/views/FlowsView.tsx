// The flows: list (polled, so a save from another browser shows up), create, import, rename,
// delete, open.
import { useCallback, useEffect, useState } from 'react';
import { api, type User } from '../api';
import { emptyFlow, type FlowDoc } from '../flow';
import { withLayout } from '../layout';
import type { Opened } from '../designer/Designer';

export interface FlowSummary {
  name: string;
  version: number;
  savedBy: string;
  savedAt: string;
  draft?: boolean;
  liveVersion?: number;
}

const NAME_RULE = /^[A-Za-z0-9_-]{1,64}$/;
let openCount = 0;
export const openKey = () => `open-${++openCount}`;

export function FlowsView({ user, onOpen }: { user: User; onOpen: (opened: Opened) => void }) {
  const [flows, setFlows] = useState<FlowSummary[] | null>(null);
  const [error, setError] = useState('');
  const [status, setStatus] = useState('');
  const [newName, setNewName] = useState('');
  const admin = user.role === 'admin';

  const load = useCallback(async () => {
    try {
      const list = await api<{ flows: FlowSummary[] }>('GET', '/flows');
      setFlows(list.flows.sort((a, b) => a.name.localeCompare(b.name)));
    } catch (e) {
      setError((e as Error).message);
    }
  }, []);

  useEffect(() => {
    load();
    const timer = window.setInterval(load, 3000);
    return () => window.clearInterval(timer);
  }, [load]);

  const create = () => {
    if (!NAME_RULE.test(newName)) {
      setError('A flow name is 1 to 64 letters, digits, "_" or "-".');
      return;
    }
    if (flows?.some((f) => f.name === newName)) {
      setError(`A flow named "${newName}" exists already.`);
      return;
    }
    onOpen({ key: openKey(), name: newName, doc: emptyFlow(newName), isNew: true });
  };

  const importFile = async (file: File) => {
    setError('');
    try {
      const parsed = JSON.parse(await file.text()) as FlowDoc;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || !Array.isArray(parsed.elements)) {
        throw new Error('not a flow document (it needs "name" and "elements")');
      }
      const name = typeof parsed.name === 'string' && NAME_RULE.test(parsed.name) ? parsed.name : 'Imported';
      const doc = withLayout({ ...parsed, name });
      onOpen({ key: openKey(), name, doc, isNew: !flows?.some((f) => f.name === name), imported: file.name });
    } catch (e) {
      setError(`Import flow: ${file.name}: ${(e as Error).message}`);
    }
  };

  // The server moves the flow with its whole history (POST /flows/{name}/rename).
  const rename = async (flow: FlowSummary) => {
    const to = window.prompt(`New name for ${flow.name}`, flow.name);
    if (!to || to === flow.name) return;
    if (!NAME_RULE.test(to)) return setError('A flow name is 1 to 64 letters, digits, "_" or "-".');
    try {
      const answer = await api<{ version: number }>('POST', `/flows/${encodeURIComponent(flow.name)}/rename`, { to });
      setStatus(`Renamed ${flow.name} to ${to} (version ${answer.version}).`);
      setError('');
      load();
    } catch (e) {
      setError(`Rename: ${(e as Error).message}`);
    }
  };

  const remove = async (flow: FlowSummary) => {
    if (!window.confirm(`Delete flow ${flow.name} and all its versions?`)) return;
    try {
      await api('DELETE', `/flows/${encodeURIComponent(flow.name)}`);
      setStatus(`Deleted ${flow.name}.`);
      load();
    } catch (e) {
      setError(`Delete: ${(e as Error).message}`);
    }
  };

  return (
    <main className="page">
      <h2>Flows</h2>
      {admin && (
        <div className="toolbar">
          <label>
            New flow name
            <input value={newName} onChange={(e) => setNewName(e.target.value)} onKeyDown={(e) => e.key === 'Enter' && create()} />
          </label>
          <button onClick={create}>Create flow</button>
          <label className="file">
            Import flow
            <input
              type="file"
              accept=".json,application/json"
              onChange={(e) => {
                const file = e.target.files?.[0];
                e.target.value = '';
                if (file) importFile(file);
              }}
            />
          </label>
        </div>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {status && <p role="status">{status}</p>}
      {flows === null ? (
        <p>Loading…</p>
      ) : flows.length === 0 ? (
        <p>No flows yet.</p>
      ) : (
        <table aria-label="Flows">
          <thead>
            <tr>
              <th>Name</th>
              <th>Version</th>
              <th>Live</th>
              <th>Saved by</th>
              <th>Saved at</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {flows.map((flow) => (
              <tr key={flow.name} data-flow={flow.name}>
                <td>{flow.name}</td>
                <td>
                  {flow.version}
                  {flow.draft ? ' (draft)' : ''}
                </td>
                <td>{flow.liveVersion === undefined ? flow.version : flow.liveVersion || 'none'}</td>
                <td>{flow.savedBy}</td>
                <td>{flow.savedAt}</td>
                <td className="actions">
                  <button aria-label={`Open ${flow.name}`} onClick={() => onOpen({ key: openKey(), name: flow.name })}>
                    Open
                  </button>
                  {admin && (
                    <>
                      <button aria-label={`Rename ${flow.name}`} onClick={() => rename(flow)}>
                        Rename
                      </button>
                      <button aria-label={`Delete ${flow.name}`} onClick={() => remove(flow)}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
