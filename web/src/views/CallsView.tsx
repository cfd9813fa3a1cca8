// Call records, newest first, filtered by number, flow, result code and date; one call's trace
// drawn on the flow version it ran.
import { useCallback, useEffect, useId, useState } from 'react';
import { ReactFlowProvider } from '@xyflow/react';
import { api, query } from '../api';
import type { FlowDoc } from '../flow';
import { withLayout } from '../layout';
import { FlowCanvas } from '../designer/FlowCanvas';
import { TraceView, type Trace } from '../designer/TraceView';

interface CallRow {
  uuid: string;
  startedAt: string;
  from: string;
  to: string;
  flow: string;
  flowVersion: number;
  resultCode: string;
  status: string;
  hungUpBy?: string;
  endedAt?: string;
}

function Filter({ label, value, onChange, type = 'text' }: { label: string; value: string; onChange: (v: string) => void; type?: string }) {
  const id = useId();
  return (
    <div className="field inline">
      <label htmlFor={id}>{label}</label>
      <input id={id} type={type} value={value} onChange={(e) => onChange(e.target.value)} />
    </div>
  );
}

function CallDetail({ uuid, onBack }: { uuid: string; onBack: () => void }) {
  const [trace, setTrace] = useState<Trace | null>(null);
  const [doc, setDoc] = useState<FlowDoc | null>(null);
  const [record, setRecord] = useState<CallRow | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    (async () => {
      try {
        const got = await api<CallRow & { trace?: Trace }>('GET', `/calls/${encodeURIComponent(uuid)}`);
        setRecord(got);
        if (got.trace) setTrace(got.trace);
        if (got.flow && got.flowVersion) {
          const flow = await api<{ flow: FlowDoc }>('GET', `/flows/${encodeURIComponent(got.flow)}/versions/${got.flowVersion}`);
          setDoc(withLayout(flow.flow));
        }
      } catch (e) {
        setError((e as Error).message);
      }
    })();
  }, [uuid]);
  return (
    <section aria-label="Call" className="call-detail">
      <button onClick={onBack}>← Calls</button>
      {error && <p role="alert" className="error">{error}</p>}
      {record && (
        <h3>
          Call from {record.from || 'unknown'} to {record.flow} version {record.flowVersion}, {record.startedAt}
        </h3>
      )}
      <div className="call-detail-body">
        {doc && (
          <div className="call-canvas">
            <ReactFlowProvider>
              <FlowCanvas doc={doc} lit={trace?.path ?? []} fitKey={1} />
            </ReactFlowProvider>
          </div>
        )}
        {trace && <TraceView trace={trace} />}
      </div>
    </section>
  );
}

export function CallsView() {
  const [phone, setPhone] = useState('');
  const [flow, setFlow] = useState('');
  const [resultCode, setResultCode] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [calls, setCalls] = useState<CallRow[]>([]);
  const [error, setError] = useState('');
  const [open, setOpen] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const q = query({ phone, flow, resultCode, since, until: until ? `${until}T23:59:59Z` : '', limit: 200 });
      const got = await api<{ calls: CallRow[] }>('GET', `/calls${q}`);
      setCalls(got.calls);
      setError('');
    } catch (e) {
      setError((e as Error).message);
    }
  }, [phone, flow, resultCode, since, until]);

  useEffect(() => {
    if (open) return;
    const timer = window.setTimeout(load, 200);
    return () => window.clearTimeout(timer);
  }, [load, open]);

  if (open) return <main className="page"><CallDetail uuid={open} onBack={() => setOpen(null)} /></main>;
  return (
    <main className="page">
      <h2>Calls</h2>
      <div className="toolbar" role="search" aria-label="Filter calls">
        <Filter label="Number" value={phone} onChange={setPhone} />
        <Filter label="Flow" value={flow} onChange={setFlow} />
        <Filter label="Result code" value={resultCode} onChange={setResultCode} />
        <Filter label="From date" value={since} onChange={setSince} type="date" />
        <Filter label="To date" value={until} onChange={setUntil} type="date" />
        <button onClick={load}>Refresh</button>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      <table aria-label="Calls">
        <thead>
          <tr>
            <th>Started</th>
            <th>From</th>
            <th>To</th>
            <th>Flow</th>
            <th>Result code</th>
            <th>Status</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {calls.map((call) => (
            <tr key={call.uuid} data-uuid={call.uuid}>
              <td>{call.startedAt}</td>
              <td>{call.from}</td>
              <td>{call.to}</td>
              <td>
                {call.flow} v{call.flowVersion}
              </td>
              <td>{call.resultCode}</td>
              <td>{call.status}</td>
              <td>
                <button aria-label={`View call ${call.uuid}`} onClick={() => setOpen(call.uuid)}>
                  View
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {calls.length === 0 && <p>No calls match.</p>}
    </main>
  );
}
