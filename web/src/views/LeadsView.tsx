// Leads: find by phone number or reference, view and edit their fields (custom fields by id too).
import { useId, useState } from 'react';
import { api, query, type User } from '../api';

type Lead = Record<string, string | number>;
const STANDARD = ['referenceid', 'name', 'name2', 'address', 'city', 'postalcode', 'phonenum', 'campaignid', 'listid'];
const LABELS: Record<string, string> = {
  referenceid: 'Reference ID',
  name: 'First name',
  name2: 'Second name',
  address: 'Address',
  city: 'City',
  postalcode: 'Post code',
  phonenum: 'Phone number',
  campaignid: 'Campaign ID',
  listid: 'List ID',
};

function LeadEditor({ lead, editable, onSaved }: { lead: Lead; editable: boolean; onSaved: (lead: Lead) => void }) {
  const [fields, setFields] = useState<Lead>(lead);
  const [newField, setNewField] = useState('');
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');
  const base = useId();
  const keys = [...STANDARD, ...Object.keys(fields).filter((k) => k.startsWith('field:'))];
  return (
    <section aria-label={`Lead ${lead.id}`} className="lead-editor">
      <h3>Lead {lead.id}</h3>
      {keys.map((key) => (
        <div className="field" key={key}>
          <label htmlFor={`${base}-${key}`}>{key.startsWith('field:') ? `Field ${key.slice(6)}` : LABELS[key]}</label>
          <input id={`${base}-${key}`} disabled={!editable} value={String(fields[key] ?? '')} onChange={(e) => setFields({ ...fields, [key]: e.target.value })} />
        </div>
      ))}
      {editable && (
        <>
          <div className="row">
            <input aria-label="New custom field id" placeholder="158" value={newField} onChange={(e) => setNewField(e.target.value.replace(/\D/g, ''))} />
            <button disabled={!newField} onClick={() => { setFields({ ...fields, [`field:${newField}`]: '' }); setNewField(''); }}>
              Add custom field
            </button>
          </div>
          <button
            onClick={async () => {
              try {
                const body = Object.fromEntries(Object.entries(fields).filter(([k]) => k !== 'id'));
                const saved = await api<Lead>('PUT', `/leads/${lead.id}`, body);
                setStatus('Saved.');
                setError('');
                onSaved(saved);
              } catch (e) {
                setError((e as Error).message);
              }
            }}
          >
            Save lead
          </button>
        </>
      )}
      {status && <p role="status">{status}</p>}
      {error && <p role="alert" className="error">{error}</p>}
    </section>
  );
}

export function LeadsView({ user }: { user: User }) {
  const [by, setBy] = useState<'phone' | 'reference'>('phone');
  const [text, setText] = useState('');
  const [leads, setLeads] = useState<Lead[] | null>(null);
  const [open, setOpen] = useState<Lead | null>(null);
  const [error, setError] = useState('');
  const id = useId();
  const editable = user.role === 'admin' || user.role === 'supervisor';

  const search = async () => {
    setError('');
    setOpen(null);
    try {
      const got = await api<{ leads: Lead[] }>('GET', `/leads${query({ [by]: text, limit: 100 })}`);
      setLeads(got.leads);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <main className="page">
      <h2>Leads</h2>
      <form className="toolbar" role="search" onSubmit={(e) => { e.preventDefault(); search(); }}>
        <label htmlFor={`${id}-by`}>Find by</label>
        <select id={`${id}-by`} value={by} onChange={(e) => setBy(e.target.value as 'phone' | 'reference')}>
            <option value="phone">phone number</option>
            <option value="reference">reference</option>
        </select>
        <label htmlFor={id}>{by === 'phone' ? 'Phone number to find' : 'Reference to find'}</label>
        <input id={id} value={text} onChange={(e) => setText(e.target.value)} />
        <button type="submit">Find leads</button>
      </form>
      {error && <p role="alert" className="error">{error}</p>}
      {leads && leads.length === 0 && <p>No lead matches.</p>}
      {leads && leads.length > 0 && (
        <table aria-label="Leads">
          <thead>
            <tr>
              <th>Id</th>
              <th>Reference</th>
              <th>Name</th>
              <th>Phone</th>
              <th>City</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {leads.map((lead) => (
              <tr key={lead.id}>
                <td>{lead.id}</td>
                <td>{lead.referenceid}</td>
                <td>
                  {lead.name} {lead.name2}
                </td>
                <td>{lead.phonenum}</td>
                <td>{lead.city}</td>
                <td>
                  <button aria-label={`Open lead ${lead.id}`} onClick={() => setOpen(lead)}>
                    Open
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && (
        <LeadEditor key={open.id} lead={open} editable={editable}
          onSaved={(saved) => setLeads((list) => list?.map((l) => (l.id === saved.id ? saved : l)) ?? null)} />
      )}
    </main>
  );
}
