import { useEffect, useRef, useState } from 'preact/hooks';

interface Request {
  message: string;
  action: string;
  resolve: (confirmed: boolean) => void;
  /** What had the focus when the question was asked; it gets it back when the dialog closes. */
  opener: HTMLElement | null;
}

let ask: ((request: Request) => void) | null = null;

/**
 * Asks before something that cannot be undone, in a modal dialog: the rest of the page is inert while it is
 * open, Tab and Shift+Tab stay inside it, Escape answers no, and the focus goes back where it was.
 * Resolves to whether the user confirmed.
 */
export function confirmAction(message: string, action: string): Promise<boolean> {
  return new Promise((resolve) => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (ask) ask({ message, action, resolve, opener });
    else resolve(window.confirm(message));
  });
}

/** Mounted once by the app: the dialog every confirmAction opens. */
export function ConfirmHost() {
  const [request, setRequest] = useState<Request | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const pending = useRef<Request | null>(null);

  useEffect(() => {
    ask = (next) => {
      pending.current?.resolve(false);
      pending.current = next;
      setRequest(next);
    };
    return () => {
      ask = null;
    };
  }, []);
  useEffect(() => {
    const element = dialog.current;
    if (request && element && !element.open) {
      element.showModal();
      // The safe answer has the focus first: Enter on a stray key press cancels.
      element.querySelector<HTMLElement>('[data-answer="cancel"]')?.focus();
    }
  }, [request]);

  const answer = (confirmed: boolean) => {
    const current = pending.current;
    if (!current) return;
    pending.current = null;
    if (dialog.current?.open) dialog.current.close();
    setRequest(null);
    current.resolve(confirmed);
    if (current.opener?.isConnected) current.opener.focus();
  };

  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-message"
      onCancel={(event) => {
        // Escape: no, and the dialog closes through answer() so the focus goes back.
        event.preventDefault();
        answer(false);
      }}
      onKeyDown={(event) => {
        if (event.key !== 'Tab' || !dialog.current) return;
        const stops = [...dialog.current.querySelectorAll<HTMLElement>('button')];
        const first = stops[0];
        const last = stops.at(-1);
        if (!first || !last) return;
        if (event.shiftKey && document.activeElement === first) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && document.activeElement === last) {
          event.preventDefault();
          first.focus();
        }
      }}
    >
      <h2 id="confirm-title">{request?.action ?? 'Confirm'}?</h2>
      <p id="confirm-message">{request?.message}</p>
      <div class="actions">
        <button type="button" class="secondary" data-answer="cancel" onClick={() => answer(false)}>
          Cancel
        </button>
        <button type="button" class="danger" data-answer="confirm" onClick={() => answer(true)}>
          {request?.action ?? 'Confirm'}
        </button>
      </div>
    </dialog>
  );
}
