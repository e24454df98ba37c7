import { isRagApiError } from '@rag/client/rag-api-error';
import { useState } from 'preact/hooks';
import type { ScreenProps } from '../app.js';
import { confirmAction } from '../components/confirm-dialog.js';
import { ProblemNotice } from '../components/problem-notice.js';
import { useLoad } from '../components/use-load.js';
import { formatTime } from '../format.js';

/** The tenant's completion webhook: where document.ready / document.failed events go, signed. Admins only. */
export function WebhookPage({ client }: ScreenProps) {
  const webhook = useLoad(async () => {
    try {
      return await client.getWebhook();
    } catch (error) {
      // No webhook set is a state to show, not a problem.
      if (isRagApiError(error) && error.status === 404) return null;
      throw error;
    }
  }, [client]);
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState('');
  const [problem, setProblem] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);

  /** Runs an action and shows the line it returns, or the problem. */
  async function act(work: () => Promise<string>) {
    setProblem(null);
    setNote(null);
    try {
      setNote(await work());
      webhook.reload();
    } catch (error) {
      setProblem(error);
    }
  }

  return (
    <section aria-labelledby="webhook-title">
      <h1 id="webhook-title">Completion webhook</h1>
      <p>
        When a document becomes <code>ready</code> or <code>failed</code>, the gateway's worker POSTs the
        event to this URL, signed with HMAC-SHA256 over the body (<code>x-rag-signature</code>).
      </p>
      <ProblemNotice error={problem ?? webhook.error} />
      {note && (
        <p role="status" data-testid="webhook-note">
          {note}
        </p>
      )}
      {webhook.data === null && !webhook.loading && <p data-testid="webhook-state">No webhook is set.</p>}
      {webhook.data && (
        <div data-testid="webhook-state">
          <p>
            Events go to <code>{webhook.data.url}</code> (set {formatTime(webhook.data.updated_at)}).
          </p>
          <div class="buttons">
            <button
              type="button"
              class="secondary"
              onClick={() =>
                act(async () => {
                  const test = await client.testWebhook();
                  return `Test event ${test.event_id}: ${test.detail}.`;
                })
              }
            >
              Send a test event
            </button>
            <button
              type="button"
              class="danger"
              onClick={async () =>
                (await confirmAction('Remove the webhook? Events are no longer sent.', 'Remove webhook')) &&
                act(async () => {
                  await client.deleteWebhook();
                  return 'Webhook removed.';
                })
              }
            >
              Remove webhook
            </button>
          </div>
        </div>
      )}
      <form
        class="webhook-form"
        onSubmit={(event) => {
          event.preventDefault();
          void act(async () => {
            await client.setWebhook({ url, secret });
            setSecret('');
            return 'Webhook saved.';
          });
        }}
      >
        <h2>{webhook.data ? 'Replace' : 'Set'} the webhook</h2>
        <label>
          URL
          <input type="url" required value={url} onInput={(event) => setUrl(event.currentTarget.value)} />
        </label>
        <label>
          Signing secret (at least 16 characters; write-only)
          <input
            type="password"
            required
            minLength={16}
            autoComplete="new-password"
            value={secret}
            onInput={(event) => setSecret(event.currentTarget.value)}
          />
        </label>
        <button type="submit">Save webhook</button>
      </form>
    </section>
  );
}
