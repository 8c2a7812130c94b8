// org-form: the fields of an organisation (create and edit share them).
import { h, word, LEGAL_FORMS, GOVERNANCES } from './dom.js';
import { field, value } from './forms.js';
import { placeField, purposePicker } from './pickers.js';

export function organisationFields(org = {}, { editing = false } = {}) {
  const picker = purposePicker({ legend: 'Purposes it exists for', selected: org.purposes ?? [],
    hint: 'Choose the causes from the shared catalogue. People find you through them.' });
  const fields = h('div', { class: 'stack' },
    field({ label: 'Name', name: 'name', value: org.name ?? '', maxlength: 200, autocomplete: 'organization' }),
    editing ? null : field({ label: 'Address of its page on Purposed', name: 'slug', optional: true, maxlength: 64, autocomplete: 'off',
      hint: `The end of ${location.host}/organisations/… — lowercase letters, digits and dashes. Leave empty to derive it from the name.` }),
    field({ label: 'Purpose statement', name: 'purpose_statement', type: 'textarea', rows: 5, maxlength: 5000,
      value: org.purpose_statement ?? '', hint: 'Why the organisation exists, in a few sentences. This is what people join.' }),
    field({ label: 'Association norms', name: 'association_norms', type: 'textarea', rows: 6, maxlength: 10000, optional: true,
      value: org.association_norms ?? '', hint: 'How people work together here: decisions, roles, time, money, leaving.' }),
    editing ? field({ label: 'What changed and why', name: 'change_note', type: 'textarea', rows: 3, maxlength: 1000, optional: true,
      hint: 'Shown in the charter history when the purpose statement or norms change.' }) : null,
    picker.el,
    h('div', { class: 'fields-row' },
      field({ label: 'Legal form', name: 'legal_form', type: 'select', value: org.legal_form ?? '',
        options: [['', 'Choose…'], ...LEGAL_FORMS.map((v) => [v, word(v)])] }),
      field({ label: 'Governance', name: 'governance', type: 'select', value: org.governance ?? '',
        options: [['', 'Choose…'], ...GOVERNANCES.map((v) => [v, word(v)])] })),
    h('div', { class: 'fields-row' },
      // text, not url: "river-keepers.example" is accepted (stored as https://…)
      field({ label: 'Own website', name: 'website', hint: 'The organisation’s site elsewhere, if it has one.', inputmode: 'url', autocomplete: 'url', optional: true, value: org.website ?? '', placeholder: 'river-keepers.example', maxlength: 500 }),
      field({ label: 'Location', name: 'location', optional: true, value: org.location ?? '', placeholder: 'City, region or “Distributed”', maxlength: 200 })),
    placeField({ label: 'Place', name: 'place', place: org.place ?? null, hint: 'The town it is based in, from the list: people nearby find it.' }));
  return { el: fields, picker };
}

// The body of a create or a PATCH (only what changed when `before` is given).
export function organisationBody(form, picker, before = null) {
  const body = {
    name: value(form, 'name'),
    purpose_statement: value(form, 'purpose_statement'),
    association_norms: value(form, 'association_norms'),
    purposes: picker.values(),
    legal_form: value(form, 'legal_form'),
    governance: value(form, 'governance'),
    website: value(form, 'website') || null,
    location: value(form, 'location') || null,
    place: form.elements.place.value ? Number(form.elements.place.value) : null,
  };
  if (!before) {
    const slug = value(form, 'slug');
    if (slug) body.slug = slug;
    if (!body.association_norms) delete body.association_norms;
    if (!body.website) delete body.website;
    if (!body.location) delete body.location;
    if (body.place === null) delete body.place;
    if (!body.legal_form) delete body.legal_form;
    if (!body.governance) delete body.governance;
    return body;
  }
  const patch = {};
  for (const [k, v] of Object.entries(body)) {
    const old = k === 'place' ? (before.place?.id ?? null) : before[k];
    if (k === 'purposes') {
      const a = [...v].sort().join(',');
      const b = (old ?? []).map((p) => (typeof p === 'string' ? p : p.slug)).sort().join(',');
      if (a !== b) patch.purposes = v;
    } else if ((old ?? null) !== (v === '' ? null : v) && !(old === '' && v === null)) {
      patch[k] = v === '' && (k === 'website' || k === 'location') ? null : v;
    }
  }
  const note = value(form, 'change_note');
  if (note && ('purpose_statement' in patch || 'association_norms' in patch)) patch.change_note = note;
  return patch;
}
