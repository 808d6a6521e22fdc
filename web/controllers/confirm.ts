/**
 * Confirmation and one-field prompts as a modal `<dialog>` inside the host's shadow
 * root: `await confirm.confirm({…})` resolves true or false, `await confirm.prompt({…})`
 * the typed text or undefined. The host renders `${this.confirm.render()}` and adopts
 * `dialogStyles`. Escape and Cancel both answer "no"; focus returns where it was.
 */
import {
  html,
  nothing,
  type ReactiveController,
  type ReactiveControllerHost,
  type TemplateResult,
} from 'lit';

export interface ConfirmOptions {
  title: string;
  body?: string;
  /** The confirming button's label: say what happens ("Ban Alice"), not "OK". */
  confirmLabel: string;
  danger?: boolean;
}

export interface PromptOptions extends ConfirmOptions {
  label: string;
  value?: string;
  maxLength?: number;
}

interface Pending extends Partial<PromptOptions> {
  title: string;
  confirmLabel: string;
  prompt: boolean;
  resolve: (value: string | undefined) => void;
}

export class ConfirmController implements ReactiveController {
  private pending: Pending | undefined;
  private shown: HTMLDialogElement | undefined;

  constructor(
    private readonly host: ReactiveControllerHost & { renderRoot: HTMLElement | DocumentFragment },
  ) {
    host.addController(this);
  }

  /** True while a question is on screen. */
  get open(): boolean {
    return this.pending !== undefined;
  }

  confirm(options: ConfirmOptions): Promise<boolean> {
    return this.ask({ ...options, prompt: false }).then((v) => v !== undefined);
  }

  prompt(options: PromptOptions): Promise<string | undefined> {
    return this.ask({ ...options, prompt: true });
  }

  private ask(options: Omit<Pending, 'resolve'>): Promise<string | undefined> {
    this.pending?.resolve(undefined);
    return new Promise((resolve) => {
      this.pending = { ...options, resolve };
      this.host.requestUpdate();
    });
  }

  private get dialog(): HTMLDialogElement | null {
    return this.host.renderRoot.querySelector('dialog.tc-confirm');
  }

  hostUpdated(): void {
    const dialog = this.dialog;
    if (this.pending && dialog && !dialog.open) {
      dialog.returnValue = '';
      dialog.showModal();
      this.shown = dialog;
    }
  }

  hostDisconnected(): void {
    this.pending?.resolve(undefined);
    this.pending = undefined;
  }

  /** Answers the open question now (not on the dialog's later `close` event, which may be stale). */
  private settle(answer: string | undefined): void {
    const pending = this.pending;
    this.pending = undefined;
    this.host.requestUpdate();
    pending?.resolve(answer);
  }

  private readonly onSubmit = (event: SubmitEvent): void => {
    const input = (event.currentTarget as HTMLFormElement).querySelector('input');
    this.settle(input ? input.value.trim() || undefined : '');
  };

  private readonly onCancel = (event: Event): void => {
    this.settle(undefined);
    ((event.target as HTMLElement).closest('dialog') as HTMLDialogElement).close('cancel');
  };

  private readonly onClose = (event: Event): void => {
    // Closed some other way (Escape, a `close()` call). A late event from an earlier
    // question's dialog (`close` is dispatched as a task) must not answer this one.
    if (event.currentTarget === this.shown && !this.shown.open && this.pending) this.settle(undefined);
  };

  render(): TemplateResult | typeof nothing {
    const p = this.pending;
    if (!p) return nothing;
    return html`<dialog class="tc-confirm" aria-labelledby="tc-confirm-title" @close=${this.onClose}>
      <form method="dialog" @submit=${this.onSubmit}>
        <h2 id="tc-confirm-title">${p.title}</h2>
        ${p.body ? html`<p>${p.body}</p>` : nothing}
        ${
          p.prompt
            ? html`<label class="field"
                >${p.label}<input name="value" required maxlength=${p.maxLength ?? 64} .value=${p.value ?? ''}
              /></label>`
            : nothing
        }
        <div class="actions">
          <button type="button" @click=${this.onCancel}>Cancel</button>
          <button type="submit" value="ok" class=${p.danger ? 'danger' : 'primary'}>${p.confirmLabel}</button>
        </div>
      </form>
    </dialog>`;
  }
}
