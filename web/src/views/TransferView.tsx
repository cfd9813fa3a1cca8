// What an agent or supervisor sees under Transfer → IVR: the elements they may send a live call
// into, as the transfer-targets API returns them for their role.
import { useEffect, useState } from 'react';
import { api, type User } from '../api';

interface Target {
  flow: string;
  version: number;
  element: string;
  type: string;
  description: string;
}

export function TransferView({ user }: { user: User }) {
  const [targets, setTargets] = useState<Target[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api<{ targets: Target[] }>('GET', '/transfer-targets')
      .then((got) => setTargets(got.targets))
      .catch((e) => setError((e as Error).message));
  }, []);
  return (
    <main className="page">
      <h2>Transfer → IVR</h2>
      <p>
        The elements {user.role === 'agent' ? 'agents' : 'supervisors'} may transfer a live call into
        {user.role === 'agent' ? ' (Agents Can See This).' : ' (Agents Can See This, and Supervisor Can See This).'}
      </p>
      {error && <p role="alert" className="error">{error}</p>}
      {targets && targets.length === 0 && <p>No elements are visible to you.</p>}
      {targets && targets.length > 0 && (
        <table aria-label="Transfer targets">
          <thead>
            <tr>
              <th>Flow</th>
              <th>Element</th>
              <th>Type</th>
              <th>Description</th>
            </tr>
          </thead>
          <tbody>
            {targets.map((t) => (
              <tr key={`${t.flow}/${t.element}`}>
                <td>
                  {t.flow} v{t.version}
                </td>
                <td>{t.element}</td>
                <td>{t.type}</td>
                <td>{t.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
