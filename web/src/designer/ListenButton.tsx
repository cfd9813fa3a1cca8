// Plays a text as the caller will hear it: rendered by the server's TTS (POST /api/v1/tts).
import { useState } from 'react';
import { apiBlob } from '../api';

export function ListenButton({ text, label = 'Listen' }: { text: string; label?: string }) {
  const [url, setUrl] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <div className="listen">
      <button
        disabled={busy || !text.trim()}
        onClick={async () => {
          setBusy(true);
          setError('');
          try {
            const blob = await apiBlob('POST', '/tts', { text });
            if (url) URL.revokeObjectURL(url);
            setUrl(URL.createObjectURL(blob));
          } catch (e) {
            setError((e as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        {label}
      </button>
      {url && <audio controls autoPlay src={url} aria-label="Synthesized speech" data-testid="tts-audio" />}
      {error && <small className="error">{error}</small>}
    </div>
  );
}
