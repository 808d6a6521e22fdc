/**
 * One message as a template for `<tc-message-list>`: author header (or a hidden
 * author for continued groups), reply quote, markdown body or "deleted"
 * placeholder, "(edited)", attachments, reactions, "queued" for the outbox, and the
 * action buttons. Pure: state and handlers come in `MessageContext`.
 */
import { html, nothing } from 'lit';
import type { ChatMessage, ConversationView, MemberInfo } from '../../core/model.ts';
import { formatDateTime, formatTime, nameOf } from '../../ui/format.ts';
import { icon } from '../../ui/icons.ts';
import { plainText, renderMarkdown } from '../../ui/markdown.ts';
import '../attachment/attachment.component.ts';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

export interface MessageContext {
  conversation: ConversationView;
  members: readonly MemberInfo[];
  /** Names of people no longer members, by key. */
  former?: Readonly<Record<string, string>>;
  me: string | undefined;
  byId: ReadonlyMap<string, ChatMessage>;
  editing: string | undefined;
  picking: string | undefined;
  reply(m: ChatMessage): void;
  react(m: ChatMessage, emoji: string): void;
  pick(m: ChatMessage | undefined): void;
  edit(m: ChatMessage | undefined): void;
  saveEdit(m: ChatMessage, text: string): void;
  remove(m: ChatMessage): void;
  openMember(key: string): void;
}

function people(m: ChatMessage, members: readonly MemberInfo[]) {
  return m.mentions.map((key) => ({ key, name: nameOf(key, members) }));
}

function renderReactions(m: ChatMessage, ctx: MessageContext, tab: number) {
  const entries = Object.entries(m.reactions).filter(([, users]) => users.length > 0);
  if (entries.length === 0) return nothing;
  return html`<div class="reactions">
    ${entries.map(([emoji, users]) => {
      const mine = ctx.me !== undefined && users.includes(ctx.me);
      const label = `${emoji} ${users.length} ${users.length === 1 ? 'reaction' : 'reactions'}${mine ? ', including you' : ''}`;
      return html`<button type="button" class="reaction" tabindex=${tab} aria-pressed=${mine} aria-label=${label}
        @click=${() => ctx.react(m, emoji)}>${emoji} ${users.length}</button>`;
    })}
  </div>`;
}

function renderEditor(m: ChatMessage, ctx: MessageContext) {
  const save = (e: Event) => {
    e.preventDefault();
    const text = (e.currentTarget as HTMLElement).closest('form')!.querySelector('textarea')!.value.trim();
    if (text) ctx.saveEdit(m, text);
  };
  return html`<form class="editor" @submit=${save}>
    <label class="visually-hidden" for="edit-${m.id}">Edit message</label>
    <textarea id="edit-${m.id}" .value=${m.text} rows="3"
      @keydown=${(e: KeyboardEvent) => {
        if (e.key === 'Escape') ctx.edit(undefined);
        else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) save(e);
      }}></textarea>
    <div><button type="submit" class="primary">Save</button>
      <button type="button" @click=${() => ctx.edit(undefined)}>Cancel</button></div>
  </form>`;
}

export function renderMessage(m: ChatMessage, continued: boolean, active: boolean, ctx: MessageContext) {
  const tab = active ? 0 : -1;
  const author = nameOf(m.author, ctx.members, ctx.former);
  const own = ctx.me !== undefined && m.author === ctx.me;
  const mentioned = ctx.me !== undefined && m.mentions.includes(ctx.me);
  const quoted = m.replyTo ? ctx.byId.get(m.replyTo) : undefined;
  const classes = [
    'message',
    continued ? 'continued' : '',
    mentioned ? 'mentioned' : '',
    m.pending ? 'pending' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return html`<article class=${classes} data-id=${m.id} tabindex="-1">
    ${
      m.replyTo
        ? html`<p class="quote">${icon('reply')}
            ${quoted ? html`<strong>${nameOf(quoted.author, ctx.members, ctx.former)}</strong> ${quoted.deleted ? 'deleted message' : plainText(quoted.text, 80)}` : 'an earlier message'}</p>`
        : nothing
    }
    ${
      continued
        ? html`<span class="visually-hidden">${author}, ${formatTime(m.at)}: </span>`
        : html`<header>
            <button type="button" class="author" tabindex=${tab} @click=${() => ctx.openMember(m.author)}>${author}</button>
            <time datetime=${new Date(m.at).toISOString()} title=${formatDateTime(m.at)}>${formatTime(m.at)}</time>
          </header>`
    }
    ${
      m.deleted
        ? html`<p class="deleted">This message was deleted.</p>`
        : ctx.editing === m.id
          ? renderEditor(m, ctx)
          : html`<div class="body">${renderMarkdown(m.text, { people: people(m, ctx.members), me: ctx.me })}${
              m.editedAt
                ? html`<span class="edited" title=${formatDateTime(m.editedAt)}> (edited)</span>`
                : nothing
            }</div>`
    }
    ${m.deleted ? nothing : m.attachments.map((a) => html`<tc-attachment .conversation=${ctx.conversation} message=${m.id} .attachment=${a}></tc-attachment>`)}
    ${m.deleted ? nothing : renderReactions(m, ctx, tab)}
    ${m.pending ? html`<span class="queued">Queued — will send when connected</span>` : nothing}
    ${
      m.deleted || ctx.editing === m.id
        ? nothing
        : html`<div class="actions" role="group" aria-label="Message actions">
            <button type="button" class="icon" tabindex=${tab} aria-label="Reply" title="Reply" @click=${() => ctx.reply(m)}>${icon('reply')}</button>
            <button type="button" class="icon" tabindex=${tab} aria-label="Add reaction" title="Add reaction"
              aria-expanded=${ctx.picking === m.id} @click=${() => ctx.pick(ctx.picking === m.id ? undefined : m)}>☺</button>
            ${
              own
                ? html`<button type="button" class="icon" tabindex=${tab} aria-label="Edit" title="Edit" @click=${() => ctx.edit(m)}>✎</button>
                  <button type="button" class="icon" tabindex=${tab} aria-label="Delete" title="Delete" @click=${() => ctx.remove(m)}>${icon('close')}</button>`
                : nothing
            }
          </div>`
    }
    ${
      ctx.picking === m.id
        ? html`<div class="picker" role="group" aria-label="Pick a reaction">
            ${QUICK_REACTIONS.map((e) => html`<button type="button" class="icon" aria-label=${`React with ${e}`} @click=${() => ctx.react(m, e)}>${e}</button>`)}
          </div>`
        : nothing
    }
  </article>`;
}
