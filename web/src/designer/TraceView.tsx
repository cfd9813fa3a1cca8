// What a call did, from its trace: the steps with their exits, what was said and played, each
// HTTP exchange (secrets already shown as *** by the server), and how it ended.
import type { Json } from '../flow';
import { HeadersTable } from './HeadersTable';

export interface HttpEntry {
  element: string;
  method: string;
  url: string;
  status: number;
  error: string;
  ms: number;
  [key: string]: Json;
}

export interface Trace {
  flow: string;
  resultCode: string;
  endedAt: string;
  hungUpBy: string;
  path: string[];
  said: string[];
  played: string[];
  http: HttpEntry[];
  transfers: string[];
  data: Record<string, string>;
  steps: { element: string; type: string; exit: string; label?: string; note?: string }[];
  error?: string;
}

// The request and response of one exchange, as the trace keeps them (secrets already ***).
function HttpDetail({ entry }: { entry: HttpEntry }) {
  const headers = Array.isArray(entry.requestHeaders) ? (entry.requestHeaders as [string, string][]) : [];
  let body = typeof entry.responseBody === 'string' ? entry.responseBody : '';
  try {
    if (body) body = JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    /* not JSON: shown as it came */
  }
  return (
    <div className="http-detail">
      {headers.length > 0 && (
        <HeadersTable headers={headers} label={`Request headers of ${entry.element}`} />
      )}
      {typeof entry.requestBody === 'string' && entry.requestBody && (
        <>
          <h6>Request body</h6>
          <pre>{entry.requestBody}</pre>
        </>
      )}
      {body && (
        <>
          <h6>Response{typeof entry.contentType === 'string' && entry.contentType ? ` (${entry.contentType})` : ''}</h6>
          <pre>{body}</pre>
        </>
      )}
    </div>
  );
}

export function TraceView({ trace }: { trace: Trace }) {
  return (
    <div className="trace" data-testid="trace">
      <p>
        Result code <strong data-testid="result-code">{trace.resultCode}</strong>, ended at <strong>{trace.endedAt}</strong>, hung up by{' '}
        {trace.hungUpBy}
      </p>
      {trace.error && <p className="error">{trace.error}</p>}
      <h5>Transcript</h5>
      <ol className="transcript">
        {trace.said.map((text, i) => (
          <li key={`s${i}`} className="said">
            Said: “{text}”
          </li>
        ))}
        {trace.played.map((file, i) => (
          <li key={`p${i}`} className="played">
            Played: {file}
          </li>
        ))}
        {trace.steps
          .filter((s) => s.label && (s.type === 'CaptureDigits' || s.type === 'Menu'))
          .map((s, i) => (
            <li key={`d${i}`} className="digits">
              Heard in {s.element}: {s.label}
            </li>
          ))}
        {trace.transfers.map((target, i) => (
          <li key={`t${i}`}>Transferred to {target}</li>
        ))}
      </ol>
      <h5>Path</h5>
      <ol className="steps">
        {trace.steps.map((step, i) => (
          <li key={i}>
            {step.element} ({step.type}) → {step.label ? `"${step.label}"` : step.exit}
            {step.note && <small> [{step.note}]</small>}
          </li>
        ))}
      </ol>
      {trace.http.length > 0 && (
        <>
          <h5>API requests</h5>
          {trace.http.map((entry, i) => (
            <details key={i} className="http-entry" open={trace.http.length < 3}>
              <summary>
                {entry.element}: {entry.method} {entry.url} → {entry.status || 'no response'} in {entry.ms} ms
                {entry.error ? ` (${entry.error})` : ''}
              </summary>
              <HttpDetail entry={entry} />
            </details>
          ))}
        </>
      )}
      {Object.keys(trace.data ?? {}).length > 0 && (
        <>
          <h5>IVR data</h5>
          <dl>
            {Object.entries(trace.data).map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
          </dl>
        </>
      )}
    </div>
  );
}
