import type { CreatedApiKey } from '@rag/client/rag-client';
import type { ApiKeyInfo } from '@rag/contracts/public-api';
import { useState } from 'preact/hooks';
import type { ScreenProps } from '../app.js';
import { confirmAction } from '../components/confirm-dialog.js';
import { CopyButton } from '../components/copy-button.js';
import { ProblemNotice } from '../components/problem-notice.js';
import { useLoad } from '../components/use-load.js';
import { formatTime } from '../format.js';

const list = (text: string) =>
  text
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean);

/** The tenant's API keys (never the keys themselves): create one (shown once), revoke. Admins only. */
export function KeysPage({ client, credential }: ScreenProps) {
  const keys = useLoad(() => client.listApiKeys(), [client]);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [form, setForm] = useState({
    name: '',
    role: 'reader',
    collections: '',
    principals: '',
    expires: '',
  });

  async function create(event: Event) {
    event.preventDefault();
    setProblem(null);
    setCreated(null);
    const collections = list(form.collections);
    const principals = list(form.principals);
    try {
      const key = await client.createApiKey({
        tenant: credential.tenant,
        role: form.role as ApiKeyInfo['role'],
        ...(form.name.trim() ? { name: form.name.trim() } : {}),
        ...(collections.length > 0 ? { collections } : {}),
        ...(principals.length > 0 ? { principals } : {}),
        ...(form.expires ? { expires_at: new Date(`${form.expires}T23:59:59`).toISOString() } : {}),
      });
      setCreated(key);
      setForm({ name: '', role: 'reader', collections: '', principals: '', expires: '' });
      keys.reload();
    } catch (error) {
      setProblem(error);
    }
  }

  async function revoke(key: ApiKeyInfo) {
    const sure = await confirmAction(
      `Revoke key ${key.name ?? key.prefix}? Calls with it fail from the next request on.`,
      'Revoke key',
    );
    if (!sure) return;
    setProblem(null);
    try {
      await client.revokeApiKey(key.id);
      keys.reload();
    } catch (error) {
      setProblem(error);
    }
  }

  const field = (name: keyof typeof form) => ({
    value: form[name],
    onInput: (event: { currentTarget: { value: string } }) =>
      setForm((f) => ({ ...f, [name]: event.currentTarget.value })),
  });

  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys of {credential.tenant}</h1>
      <form class="key-form" onSubmit={create}>
        <h2>New key</h2>
        <div class="grid-2">
          <label>
            Name
            <input {...field('name')} />
          </label>
          <label>
            Role
            <select
              value={form.role}
              onChange={(event) => setForm((f) => ({ ...f, role: event.currentTarget.value }))}
            >
              <option value="reader">reader: search and read</option>
              <option value="editor">editor: also add, change and delete documents</option>
              <option value="admin">admin: also collections, keys, webhook</option>
            </select>
          </label>
          <label>
            Collections (empty: all)
            <input placeholder="handbook, policies" {...field('collections')} />
          </label>
          <label>
            ACL principals (empty: sees every document)
            <input placeholder="user:alice, group:hr" {...field('principals')} />
          </label>
          <label>
            Expires on (empty: never)
            <input type="date" {...field('expires')} />
          </label>
        </div>
        <button type="submit">Create key</button>
      </form>
      {created && (
        <div class="created-key" role="status" data-testid="created-key">
          <p>
            <strong>Copy this key now: it is not shown again.</strong>
          </p>
          <code class="secret">{created.key}</code> <CopyButton text={created.key} label="Copy key" />
        </div>
      )}
      <ProblemNotice error={problem ?? keys.error} />
      {keys.data && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name / prefix</th>
                <th scope="col">Role</th>
                <th scope="col">Collections</th>
                <th scope="col">Principals</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.keys.map((key) => (
                <tr key={key.id} data-key-prefix={key.prefix} data-key-name={key.name ?? ''}>
                  <th scope="row">
                    {key.name ?? '—'} <code>{key.prefix}…</code>
                  </th>
                  <td>{key.role}</td>
                  <td>{key.collections?.join(', ') ?? 'all'}</td>
                  <td>{key.principals?.join(', ') ?? 'all documents'}</td>
                  <td>{formatTime(key.expires_at)}</td>
                  <td>{formatTime(key.last_used_at)}</td>
                  <td>{key.revoked_at ? `revoked ${formatTime(key.revoked_at)}` : 'active'}</td>
                  <td>
                    {!key.revoked_at && key.id !== credential.key_id && (
                      <button type="button" class="danger" onClick={() => revoke(key)}>
                        Revoke<span class="visually-hidden"> {key.name ?? key.prefix}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
