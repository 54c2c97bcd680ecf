import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/**
 * The platform's modal <dialog>: it traps focus, makes the page behind it inert, closes on
 * Escape and gives focus back to the control that opened it.
 */
export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current!;
    const opener = document.activeElement as HTMLElement | null;
    dialog.showModal();
    return () => {
      if (dialog.open) dialog.close();
      opener?.focus();
    };
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="modal-title" onCancel={(e) => (e.preventDefault(), props.onClose())}>
      <div class="dialog-head">
        <h2 id="modal-title">{props.title}</h2>
        <button type="button" class="secondary" onClick={props.onClose}>
          Close
        </button>
      </div>
      {props.children}
    </dialog>
  );
}
