// Audio prompts: upload (WAV of any rate; the server converts and stores it), list, play in the
// browser, delete; and any text heard as the caller will hear it.
import { useCallback, useEffect, useId, useState } from 'react';
import { api, apiBlob, apiUpload, type User } from '../api';
import { ListenButton } from '../designer/ListenButton';

interface PromptRow {
  name: string;
  seconds: number;
  bytes: number;
}

export function PromptsView({ user }: { user: User }) {
  const [prompts, setPrompts] = useState<PromptRow[] | null>(null);
  const [error, setError] = useState('');
  const [status, setStatus] = useState('');
  const [playing, setPlaying] = useState<{ name: string; url: string } | null>(null);
  const [text, setText] = useState('');
  const textId = useId();
  const admin = user.role === 'admin';
  const staff = admin || user.role === 'supervisor';

  const load = useCallback(async () => {
    try {
      const got = await api<{ prompts: PromptRow[] }>('GET', '/prompts');
      setPrompts(got.prompts);
    } catch (e) {
      setError((e as Error).message);
    }
  }, []);
  useEffect(() => {
    load();
  }, [load]);

  const upload = async (file: File) => {
    setError('');
    const name = file.name.replace(/[^A-Za-z0-9_.-]/g, '_');
    try {
      const saved = await apiUpload<PromptRow>('PUT', `/prompts/${encodeURIComponent(name)}`, file);
      setStatus(`Uploaded ${saved.name} (${saved.seconds.toFixed(2)} s).`);
      load();
    } catch (e) {
      setError(`Upload ${file.name}: ${(e as Error).message}`);
    }
  };

  return (
    <main className="page">
      <h2>Prompts</h2>
      {admin && (
        <div className="toolbar">
          <label className="file">
            Upload prompt
            <input
              type="file"
              accept=".wav,audio/wav,audio/x-wav"
              onChange={(e) => {
                const file = e.target.files?.[0];
                e.target.value = '';
                if (file) upload(file);
              }}
            />
          </label>
        </div>
      )}
      {error && <p role="alert" className="error">{error}</p>}
      {status && <p role="status">{status}</p>}
      {prompts && prompts.length === 0 && <p>No prompts yet.</p>}
      {prompts && prompts.length > 0 && (
        <table aria-label="Prompts">
          <thead>
            <tr>
              <th>Name</th>
              <th>Length</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {prompts.map((p) => (
              <tr key={p.name}>
                <td>{p.name}</td>
                <td>{p.seconds.toFixed(2)} s</td>
                <td className="actions">
                  <button
                    aria-label={`Play ${p.name}`}
                    onClick={async () => {
                      try {
                        const blob = await apiBlob('GET', `/prompts/${encodeURIComponent(p.name)}`);
                        if (playing) URL.revokeObjectURL(playing.url);
                        setPlaying({ name: p.name, url: URL.createObjectURL(blob) });
                      } catch (e) {
                        setError((e as Error).message);
                      }
                    }}
                  >
                    Play
                  </button>
                  {admin && (
                    <button
                      aria-label={`Delete ${p.name}`}
                      onClick={async () => {
                        if (!window.confirm(`Delete ${p.name}?`)) return;
                        try {
                          await api('DELETE', `/prompts/${encodeURIComponent(p.name)}`);
                          setStatus(`Deleted ${p.name}.`);
                          load();
                        } catch (e) {
                          setError((e as Error).message);
                        }
                      }}
                    >
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {playing && (
        <p>
          {playing.name}: <audio controls autoPlay src={playing.url} aria-label={`Audio of ${playing.name}`} />
        </p>
      )}
      {staff && (
        <section aria-label="Text to speech">
          <h3>Hear a text as the caller will</h3>
          <div className="field">
            <label htmlFor={textId}>Text to hear</label>
            <textarea id={textId} rows={2} value={text} onChange={(e) => setText(e.target.value)} />
          </div>
          <ListenButton text={text} />
        </section>
      )}
    </main>
  );
}
