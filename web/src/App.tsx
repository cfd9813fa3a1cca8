// The designer's shell: sign-in, then the views a role may use, chosen from the top bar.
import { useEffect, useState } from 'react';
import { savedSession, setSignedOutHandler, signIn, signOut, type User } from './api';
import { FlowsView } from './views/FlowsView';
import { Designer, type Opened } from './designer/Designer';
import { CallsView } from './views/CallsView';
import { TransferView } from './views/TransferView';
import { LeadsView } from './views/LeadsView';
import { PromptsView } from './views/PromptsView';

type View = 'flows' | 'designer' | 'calls' | 'transfer' | 'leads' | 'prompts';

function SignIn({ onSignedIn }: { onSignedIn: (user: User) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <main className="signin">
      <form
        aria-label="Sign in"
        onSubmit={async (event) => {
          event.preventDefault();
          setBusy(true);
          setError('');
          try {
            onSignedIn(await signIn(username, password));
          } catch (e) {
            setError((e as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>Callflow</h1>
        <label>
          Username
          <input value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="username" autoFocus />
        </label>
        <label>
          Password
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

export function App() {
  const [user, setUser] = useState<User | null>(() => savedSession()?.user ?? null);
  const [view, setView] = useState<View>('flows');
  const [opened, setOpened] = useState<Opened | null>(null);

  useEffect(() => setSignedOutHandler(() => setUser(null)), []);

  if (!user) return <SignIn onSignedIn={setUser} />;
  const staff = user.role === 'admin' || user.role === 'supervisor';
  const tabs: [View, string, boolean][] = [
    ['flows', 'Flows', true],
    ['calls', 'Calls', staff],
    ['transfer', 'Transfer targets', true],
    ['leads', 'Leads', true],
    ['prompts', 'Prompts', true],
  ];
  return (
    <div className="app">
      <header className="topbar">
        <strong className="brand">Callflow</strong>
        <nav aria-label="Views">
          {tabs
            .filter(([, , shown]) => shown)
            .map(([id, label]) => (
              <button
                key={id}
                className={view === id || (id === 'flows' && view === 'designer') ? 'tab active' : 'tab'}
                aria-current={view === id ? 'page' : undefined}
                onClick={() => setView(id)}
              >
                {label}
              </button>
            ))}
        </nav>
        <span className="who">
          {user.name} ({user.role})
        </span>
        <button
          onClick={() => {
            signOut();
            setUser(null);
          }}
        >
          Sign out
        </button>
      </header>
      {view === 'flows' && (
        <FlowsView
          user={user}
          onOpen={(o) => {
            setOpened(o);
            setView('designer');
          }}
        />
      )}
      {view === 'designer' && opened && (
        <Designer key={opened.key} user={user} opened={opened} onClose={() => setView('flows')} />
      )}
      {view === 'calls' && <CallsView />}
      {view === 'transfer' && <TransferView user={user} />}
      {view === 'leads' && <LeadsView user={user} />}
      {view === 'prompts' && <PromptsView user={user} />}
    </div>
  );
}
