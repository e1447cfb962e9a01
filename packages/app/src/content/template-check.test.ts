import type { Template } from '@signalbox/engine';
import { describe, expect, it } from 'vitest';
import { needsObject } from './template-check.js';

const text = (s: string) => ({ messageType: 'service', content: { text: { en: { text: s } } } }) as unknown as Template;

describe('whether a template needs the CRM object to render', () => {
  it('shown outright, in a tag or a filter argument: yes', () => {
    for (const s of [
      'Invoice {{ object.id }} is overdue',
      '{{- object.id -}}',
      '{{ object["id"] }}',
      '{% for line in object.lines %}{{ line }}{% endfor %}',
      '{% assign ref = object.id %}{{ ref }}',
      '{% if amount %}{{ object.id }}{% endif %}',
      '{% if object %}ok{% endif %} then {{ object.id }}',
    ])
      expect(needsObject(text(s)), s).toBe(true);
  });

  it('behind | default, inside an if or unless that tests it, or only named in words: no', () => {
    for (const s of [
      'Invoice {{ object.id | default: "your invoice" }}',
      '{% if object %}Invoice {{ object.id }}{% endif %}',
      '{% if object.id %}{% if amount %}{{ object.id }} {{ amount }}{% endif %}{% endif %}',
      '{% unless object %}no object{% else %}{{ object.id }}{% endunless %}',
      "{{ 'the object of this message' }}",
      'An object lesson: {{ subject | default: "x" }}',
      '{{ contact.object }} and {{ myobject }}',
    ])
      expect(needsObject(text(s)), s).toBe(false);
    expect(needsObject({ messageType: 'service' } as unknown as Template)).toBe(false);
  });
});
