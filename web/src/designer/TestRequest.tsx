// Test request: sample values for the fillpoints the request uses, sent by the server's own HTTP
// client (its secrets, outbound policy and the element's timeout), and the answer: status, time,
// headers and the body as a JSON tree whose values copy their fillpoint. The response is kept
// with the flow as the element's sample (the completions and the validator read it).
import { useId, useState } from 'react';
import { api, ApiError } from '../api';
import { fillpointsIn, getSetting, type Element, type FlowDoc, type Json, type Sample } from '../flow';
import { HeadersTable } from './HeadersTable';
import { JsonTree } from './JsonTree';

interface TestResult {
  request: { method: string; url: string; headers: [string, string][]; body: string };
  response: { status: number; headers: [string, string][]; contentType: string; body: string; json: Json | null };
  timeMs: number;
  exit: string;
  error: string;
}

function ValueInput({ path, value, onChange }: { path: string; value: string; onChange: (v: string) => void }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{`Sample value of {{${path}}}`}</label>
      <input id={id} value={value} onChange={(e) => onChange(e.target.value)} />
    </div>
  );
}

// What the flow keeps of a response: its shape for completions and the validator, not all of
// it (the flow goes to every reader of flows and into exports): 6 levels, 10 items of a list,
// 50 keys of an object, texts cut at 100 characters; no response headers but the content type.
export function sampleOf(value: Json, depth = 0): Json {
  if (typeof value === 'string') return value.length > 100 ? `${value.slice(0, 100)}…` : value;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 6) return Array.isArray(value) ? [] : {};
  if (Array.isArray(value)) return value.slice(0, 10).map((item) => sampleOf(item, depth + 1));
  return Object.fromEntries(Object.entries(value).slice(0, 50).map(([k, v]) => [k, sampleOf(v, depth + 1)]));
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

export function TestRequest({ doc, element, onSample }: { doc: FlowDoc; element: Element; onSample: (sample: Sample) => void }) {
  const texts = ['url', 'header', 'body', 'auth.username', 'auth.password'].map((k) => {
    const v = getSetting(element, k);
    return typeof v === 'string' ? v : Array.isArray(v) ? v.join('\n') : '';
  });
  const paths = fillpointsIn(texts);
  const [values, setValues] = useState<Record<string, string>>({});
  const [result, setResult] = useState<TestResult | null>(null);
  const [error, setError] = useState('');
  const [copied, setCopied] = useState('');
  const [busy, setBusy] = useState(false);

  const send = async () => {
    setBusy(true);
    setError('');
    setCopied('');
    try {
      const given = Object.fromEntries(paths.filter((p) => values[p] !== undefined).map((p) => [p, values[p]]));
      const answer = await api<TestResult>('POST', '/test-request', { flow: doc, element: element.name, values: given });
      setResult(answer);
      if (answer.response.status > 0) {
        const contentType = answer.response.contentType;
        onSample({
          status: answer.response.status,
          ...(contentType ? { headers: { 'content-type': contentType } } : {}),
          body: sampleOf(answer.response.json ?? answer.response.body),
          at: new Date().toISOString(),
        });
      }
    } catch (e) {
      setResult(null);
      const problems = e instanceof ApiError && e.problems.length ? `: ${e.problems.map((p) => p.text || p.message).join('; ')}` : '';
      setError(`${(e as Error).message}${problems}`);
    } finally {
      setBusy(false);
    }
  };

  const pick = async (path: string) => {
    const fillpoint = `{{${path}}}`;
    const ok = await copyText(fillpoint);
    setCopied(ok ? `Copied ${fillpoint}` : `Copy this: ${fillpoint}`);
  };

  return (
    <section className="test-request" aria-label="Test request">
      <h4>Test request</h4>
      {paths.map((path) => (
        <ValueInput key={path} path={path} value={values[path] ?? ''} onChange={(v) => setValues({ ...values, [path]: v })} />
      ))}
      <button onClick={send} disabled={busy}>
        {busy ? 'Sending…' : 'Send test request'}
      </button>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {result && (
        <div className="test-result" data-testid="test-request-result">
          <p>
            <strong>{result.request.method}</strong> <code>{result.request.url}</code>
          </p>
          <p>
            Status <strong data-testid="test-status">{result.response.status || 'none'}</strong> in{' '}
            <span data-testid="test-time">{Math.round(result.timeMs)} ms</span>, exit <strong>{result.exit}</strong>
            {result.error && <span className="error"> ({result.error})</span>}
          </p>
          {result.request.headers.length > 0 && (
            <details>
              <summary>Request headers ({result.request.headers.length})</summary>
              <HeadersTable headers={result.request.headers} label="Request headers" />
            </details>
          )}
          {result.response.headers.length > 0 && (
            <details>
              <summary>Response headers ({result.response.headers.length})</summary>
              <HeadersTable headers={result.response.headers} />
            </details>
          )}
          {result.response.json !== null && result.response.json !== undefined ? (
            <div className="json-tree" aria-label="Response body">
              <JsonTree value={result.response.json} path={`${element.name}.Result`} onPick={pick} />
            </div>
          ) : (
            result.response.body && <pre className="body">{result.response.body}</pre>
          )}
          {copied && <p role="status">{copied}</p>}
        </div>
      )}
    </section>
  );
}
