// HTTP header fields as a two-column table (Test request, and a call's exchanges).
export function HeadersTable({ headers, label }: { headers: [string, string][]; label?: string }) {
  return (
    <table className="headers" aria-label={label}>
      <tbody>
        {headers.map(([name, value], i) => (
          <tr key={i}>
            <th>{name}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
