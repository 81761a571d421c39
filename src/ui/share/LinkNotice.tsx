// Why the link the page was opened with was not used. Plain text (React escapes it): the message repeats
// parts of an untrusted URL.
import { useAppState, useServices } from '../context.ts';

export function LinkNotice() {
  const { store } = useServices();
  const message = useAppState((s) => s.linkError);
  if (message === null) return null;
  return (
    <div className="link-notice" role="alert">
      <p>
        <strong>This link could not be opened.</strong> {message} Showing the default cluster instead.
      </p>
      <button type="button" onClick={() => store.getState().dismissLinkError()}>
        Dismiss
      </button>
    </div>
  );
}
