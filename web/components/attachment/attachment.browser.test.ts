import { expect, fixture, html } from '@open-wc/testing';
import type { Attachment } from '../../core/model.ts';
import { $, $$, until } from '../testing/dom.ts';
import { FixtureConversation, PNG_1x1 } from '../testing/fixtures.ts';
import { MAX_INLINE_BYTES } from './attachment.component.ts';
import './attachment.component.ts';
import type { TcAttachment } from './attachment.component.ts';

const png: Attachment = {
  id: 'a1',
  name: 'dot.png',
  mime: 'image/png',
  size: PNG_1x1.length,
  width: 1,
  height: 1,
};

function conversation() {
  const c = new FixtureConversation('general');
  c.blobs.set('a1', new Blob([PNG_1x1]));
  c.blobs.set('a2', new Blob(['%PDF-1.4']));
  return c;
}

describe('<tc-attachment>', () => {
  it('shows an image inline through an object URL, revoked when it leaves the DOM', async () => {
    const c = conversation();
    const el = await fixture<TcAttachment>(
      html`<tc-attachment .conversation=${c} message="m1" .attachment=${png}></tc-attachment>`,
    );
    await until(() => $$(el, 'img').length, 'the image');
    const img = $<HTMLImageElement>(el, 'img');
    expect(img.alt).to.equal('dot.png');
    expect(img.src.startsWith('blob:')).to.equal(true);
    await until(() => img.complete && img.naturalWidth === 1, 'the image to decode');
    expect(c.calls).to.deep.equal([['attachment', 'm1', 'a1']]);
    const url = img.src;
    expect((await fetch(url)).ok).to.equal(true);
    await expect(el).shadowDom.to.be.accessible();
    el.remove();
    let revoked = false;
    await fetch(url).catch(() => (revoked = true));
    expect(revoked, 'the object URL still answers after the element left').to.equal(true);
  });

  it('does not fetch large images or other files until asked, and names them', async () => {
    const c = conversation();
    const big = { ...png, id: 'a3', size: MAX_INLINE_BYTES + 1 };
    const svg = { ...png, id: 'a4', mime: 'image/svg+xml', name: 'x.svg' };
    const pdf = { id: 'a2', name: 'paper.pdf', mime: 'application/pdf', size: 8 };
    for (const a of [big, svg, pdf]) {
      const el = await fixture<TcAttachment>(
        html`<tc-attachment .conversation=${c} message="m1" .attachment=${a}></tc-attachment>`,
      );
      expect($$(el, 'img')).to.have.length(0);
      expect($(el, 'button').getAttribute('aria-label')).to.equal(`Download ${a.name}`);
    }
    expect(c.calls).to.deep.equal([]);
  });
});
