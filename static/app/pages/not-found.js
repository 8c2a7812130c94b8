// not-found: a path no page knows.
import { h, replace } from '../dom.js';

export default function render(ctx) {
  ctx.setTitle('Page not found');
  replace(ctx.root, h('section', { class: 'empty' },
    h('h1', { class: 'empty__title', text: 'We could not find that page' }),
    h('p', { text: 'The address may be mistyped, or the page has moved. Here are good places to start.' }),
    h('div', { class: 'actions' },
      h('a', { class: 'btn', href: '/', text: 'Explore open work' }),
      h('a', { class: 'btn btn--secondary', href: '/organisations', text: 'Browse organisations' }))));
}
