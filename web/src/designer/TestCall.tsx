// Test call: the flow on the canvas run by the server (ScriptChannel) with a caller number and
// a digits script; the transcript, the API exchanges and the path lit on the canvas.
import { useId, useState } from 'react';
import { api, ApiError } from '../api';
import type { FlowDoc } from '../flow';
import { TraceView, type Trace } from './TraceView';

export function TestCall({ doc, onPath, admin }: { doc: FlowDoc; onPath: (path: string[]) => void; admin: boolean }) {
  const fromId = useId();
  const digitsId = useId();
  const hangupId = useId();
  const [from, setFrom] = useState('441632960001');
  const [digits, setDigits] = useState('');
  const [hangupAt, setHangupAt] = useState('');
  const [trace, setTrace] = useState<Trace | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const run = async () => {
    setBusy(true);
    setError('');
    try {
      // An admin tests the document on the canvas; a supervisor, the version calls run.
      const body: Record<string, unknown> = {
        ...(admin ? { flow: doc } : {}),
        from,
        digits: digits === '' ? [] : digits.split(',').map((d) => d.trim()),
      };
      if (hangupAt) body.hangupAt = hangupAt;
      const path = admin ? '/test-call' : `/flows/${encodeURIComponent(doc.name)}/calls`;
      const answer = await api<{ trace: Trace }>('POST', path, body);
      setTrace(answer.trace);
      onPath(answer.trace.path);
    } catch (e) {
      setTrace(null);
      onPath([]);
      const problems = e instanceof ApiError && e.problems.length ? `: ${e.problems.filter((p) => p.severity === 'error').map((p) => p.text || p.message).join('; ')}` : '';
      setError(`${(e as Error).message}${problems}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="test-call" aria-label="Test call">
      <h3>Test call</h3>
      {!admin && <p className="hint">Runs the deployed version of {doc.name} (only an admin tests unsaved changes).</p>}
      <div className="field">
        <label htmlFor={fromId}>Caller number</label>
        <input id={fromId} value={from} onChange={(e) => setFrom(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={digitsId}>Digits</label>
        <input id={digitsId} value={digits} placeholder="1234#, 2" onChange={(e) => setDigits(e.target.value)} />
        <small>one entry per digit-collecting element, comma-separated</small>
      </div>
      <div className="field">
        <label htmlFor={hangupId}>Caller hangs up at</label>
        <select id={hangupId} value={hangupAt} onChange={(e) => setHangupAt(e.target.value)}>
          <option value="">(never)</option>
          {doc.elements.map((e) => (
            <option key={e.name}>{e.name}</option>
          ))}
        </select>
      </div>
      <button onClick={run} disabled={busy}>
        {busy ? 'Calling…' : 'Run test call'}
      </button>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {trace && <TraceView trace={trace} />}
    </section>
  );
}
