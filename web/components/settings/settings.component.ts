/**
 * `<tc-settings>`: the person's settings — display name, theme, accent colour,
 * font size, message colour, notification sounds, one identity per server — and
 * the identity backup: export (passphrase twice → text to copy or download) and
 * restore (paste + passphrase). Every change goes to `app.updateSettings` at once.
 */
import { html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { ObjectUrlController } from '../../controllers/object-urls.ts';
import { ObserveController } from '../../controllers/observe.ts';
import type { AppView, Settings } from '../../core/model.ts';
import { describeError, isHexColor } from '../../ui/format.ts';
import { base } from '../../ui/theme.styles.ts';
import { styles } from './settings.styles.ts';

declare global {
  interface HTMLElementTagNameMap {
    'tc-settings': TcSettings;
  }
}

export const FONT_SCALES: [label: string, scale: number][] = [
  ['Small', 0.875],
  ['Normal', 1],
  ['Large', 1.15],
  ['Larger', 1.3],
];
const MIN_PASSPHRASE = 10;

function backupError(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (code === 'DECRYPT_FAILED') return 'Wrong passphrase, or the backup text was changed.';
  if (code === 'BAD_FORMAT' || code === 'BAD_VERSION')
    return 'That is not a tincan backup (or it is cut short).';
  return describeError(error);
}

@customElement('tc-settings')
export class TcSettings extends LitElement {
  static override styles = [base, styles];

  @property({ attribute: false }) app: AppView | undefined;
  @state() private backup = '';
  @state() private backupUrl: string | undefined;
  @state() private exportError = '';
  @state() private restoreStatus = '';
  @state() private busy: 'export' | 'restore' | undefined;

  private readonly settings = new ObserveController(this, () => this.app?.settings);
  private readonly urls = new ObjectUrlController(this);

  private patch(patch: Partial<Settings>): void {
    this.app?.updateSettings(patch);
  }

  private async exportBackup(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const pass = data.get('pass')?.toString() ?? '';
    if (pass !== data.get('again')?.toString()) {
      this.exportError = 'The two passphrases differ.';
      return;
    }
    this.exportError = '';
    this.busy = 'export';
    try {
      this.backup = await this.app!.exportBackup(pass);
      if (this.backupUrl) this.urls.revoke(this.backupUrl);
      this.backupUrl = this.urls.create(new Blob([`${this.backup}\n`], { type: 'text/plain' }));
      form.reset();
    } catch (error) {
      this.exportError = backupError(error);
    } finally {
      this.busy = undefined;
    }
  }

  private async restore(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    this.busy = 'restore';
    this.restoreStatus = '';
    try {
      await this.app!.importBackup(data.get('backup')?.toString() ?? '', data.get('pass')?.toString() ?? '');
      this.restoreStatus = 'Identity restored.';
      form.reset();
    } catch (error) {
      this.restoreStatus = backupError(error);
    } finally {
      this.busy = undefined;
    }
  }

  private renderAppearance(s: Settings) {
    return html`<section aria-labelledby="look">
      <h3 id="look">Appearance</h3>
      <fieldset>
        <legend>Theme</legend>
        ${(['system', 'light', 'dark'] as const).map(
          (
            t,
          ) => html`<label class="check"><input type="radio" name="theme" value=${t} .checked=${s.theme === t}
            @change=${() => this.patch({ theme: t })} />${t === 'system' ? 'Same as device' : t === 'light' ? 'Light' : 'Dark'}</label>`,
        )}
      </fieldset>
      <div class="row">
        <label class="check">Accent colour <input type="color" .value=${isHexColor(s.accent) ? s.accent : '#3b5bdb'}
          @change=${(e: Event) => this.patch({ accent: (e.target as HTMLInputElement).value })} /></label>
        <label class="check">Text size <select @change=${(e: Event) => this.patch({ fontScale: Number((e.target as HTMLSelectElement).value) })}>
          ${FONT_SCALES.map(([l, v]) => html`<option value=${v} ?selected=${v === s.fontScale}>${l}</option>`)}</select></label>
      </div>
      <div class="row">
        <label class="check"><input type="checkbox" .checked=${s.messageColor !== undefined}
          @change=${(e: Event) => this.patch({ messageColor: (e.target as HTMLInputElement).checked ? '#1f2328' : undefined })} />Own message text colour</label>
        ${
          s.messageColor !== undefined
            ? html`<label class="check">Colour <input type="color" .value=${isHexColor(s.messageColor) ? s.messageColor : '#1f2328'}
                @change=${(e: Event) => this.patch({ messageColor: (e.target as HTMLInputElement).value })} /></label>`
            : nothing
        }
      </div>
    </section>`;
  }

  private renderBackup() {
    return html`<section aria-labelledby="backup">
      <h3 id="backup">Identity backup</h3>
      <p class="muted">Your identity key lives only in this browser. A backup, sealed with a passphrase, lets you move it or recover it.</p>
      <form @submit=${this.exportBackup} aria-label="Export backup">
        <label class="field">Passphrase <input name="pass" type="password" required minlength=${MIN_PASSPHRASE} autocomplete="new-password" /></label>
        <label class="field">Passphrase again <input name="again" type="password" required minlength=${MIN_PASSPHRASE} autocomplete="new-password" /></label>
        <button type="submit" ?disabled=${this.busy === 'export'}>${this.busy === 'export' ? 'Sealing…' : 'Export backup'}</button>
        ${this.exportError ? html`<p class="error" role="alert">${this.exportError}</p>` : nothing}
      </form>
      ${
        this.backup
          ? html`<label class="field">Your backup (keep it somewhere safe)
              <textarea readonly rows="3" .value=${this.backup}></textarea></label>
              <a class="download" href=${this.backupUrl ?? nothing} download="tincan-identity-backup.txt">Download backup file</a>`
          : nothing
      }
      <form @submit=${this.restore} aria-label="Restore backup">
        <label class="field">Backup text <textarea name="backup" rows="3" required></textarea></label>
        <label class="field">Passphrase <input name="pass" type="password" required autocomplete="current-password" /></label>
        <button type="submit" ?disabled=${this.busy === 'restore'}>${this.busy === 'restore' ? 'Restoring…' : 'Restore backup'}</button>
        <p role="status">${this.restoreStatus}</p>
      </form>
    </section>`;
  }

  override render() {
    const s = this.settings.value;
    if (!s) return nothing;
    return html`<section aria-labelledby="profile">
        <h3 id="profile">Profile</h3>
        <label class="field">Display name <input .value=${s.displayName} maxlength="32" required
          @change=${(e: Event) => {
            const name = (e.target as HTMLInputElement).value.trim();
            if (name) this.patch({ displayName: name });
          }} /></label>
      </section>
      ${this.renderAppearance(s)}
      <section aria-labelledby="privacy">
        <h3 id="privacy">Sound and privacy</h3>
        <label class="check"><input type="checkbox" .checked=${s.notificationSounds}
          @change=${(e: Event) => this.patch({ notificationSounds: (e.target as HTMLInputElement).checked })} />Notification sounds</label>
        <label class="check"><input type="checkbox" .checked=${s.identityPerServer}
          @change=${(e: Event) => this.patch({ identityPerServer: (e.target as HTMLInputElement).checked })} />
          A separate identity for each server I join (servers cannot link you across servers)</label>
        <label class="check"><input type="checkbox" .checked=${s.hideIp}
          @change=${(e: Event) => this.patch({ hideIp: (e.target as HTMLInputElement).checked })} />
          Hide my IP address from other members (connections go through the server’s TURN relay; new connections only)</label>
      </section>
      ${this.renderBackup()}`;
  }
}
