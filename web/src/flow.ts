// The flow document (FLOW_FORMAT.md) as the designer edits it: the element types with their
// exits and settings, and the edits (connect, rename, delete) that keep every reference right.
// The document itself is the state: the canvas is drawn from it, never the other way round.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Element = { name: string; type: string; next?: Record<string, string>; [key: string]: Json | undefined };

export interface Position {
  x: number;
  y: number;
}

export interface Sample {
  status: number;
  headers?: Record<string, string>;
  body: Json;
  at?: string;
}

export interface FlowDoc {
  format: 1;
  name: string;
  description?: string;
  start: string;
  defaultResultCode?: string;
  elements: Element[];
  layout?: { nodes?: Record<string, Position>; [key: string]: Json | Record<string, Position> | undefined };
  samples?: Record<string, Sample>;
}

export const CALL_VARIABLES = [
  'call.referenceid',
  'call.name',
  'call.name2',
  'call.address',
  'call.city',
  'call.postalcode',
  'call.phonenum',
  'call.leadid',
  'call.dnis',
  'call.campaignid',
  'call.listid',
];

export type FieldKind = 'text' | 'fill' | 'fillArea' | 'number' | 'bool' | 'select' | 'phrase';

export interface Field {
  key: string; // a path into the element: "timeout", "prompt.text", "auth.username"
  label: string;
  kind: FieldKind;
  options?: string[];
  advanced?: boolean;
  help?: string;
}

export interface TypeSpec {
  type: string;
  label: string; // the seed product's name
  exits: string[]; // fixed exits; Branch and Menu add numbered ones
  fields: Field[];
  blank: () => Partial<Element>;
  phrase?: string; // the Phrase field's label when the type has one
}

const PROMPT_FIELDS: Field[] = [
  { key: 'prompt.text', label: 'Prompt (text to speech)', kind: 'fillArea' },
];

export const TYPES: TypeSpec[] = [
  {
    type: 'ApiRequest',
    label: 'API Request',
    exits: ['output', 'timeout', 'error'],
    phrase: 'Phrase',
    fields: [
      { key: 'action', label: 'Action', kind: 'select', options: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] },
      { key: 'timeout', label: 'Timeout (s)', kind: 'number' },
      { key: 'url', label: 'URL', kind: 'fill' },
      { key: 'header', label: 'Header', kind: 'fill', help: 'Name: value, Name2: value2' },
      { key: 'body', label: 'Body', kind: 'fillArea' },
      { key: 'auth.username', label: 'Basic auth username', kind: 'fill', advanced: true },
      { key: 'auth.password', label: 'Basic auth password', kind: 'fill', advanced: true, help: 'e.g. {{secret.NAME}}' },
      { key: 'retries', label: 'Retries', kind: 'number', advanced: true },
      { key: 'followRedirects', label: 'Follow redirects', kind: 'bool', advanced: true },
      { key: 'maxResponseBytes', label: 'Max response bytes', kind: 'number', advanced: true },
    ],
    blank: () => ({ action: 'GET', timeout: 10, url: 'https://' }),
  },
  {
    type: 'SetProperty',
    label: 'Set Property',
    exits: ['output', 'error'],
    fields: [
      { key: 'destination.type', label: 'Property Type', kind: 'select', options: ['IvrData', 'CallProperty', 'DynamicProperty'] },
      { key: 'destination.name', label: 'Property Name', kind: 'text' },
      { key: 'source.type', label: 'Value Type', kind: 'select', options: ['DataBin', 'CallProperty', 'DynamicProperty', 'FreeText'] },
      { key: 'source.name', label: 'Value Name', kind: 'fill' },
    ],
    blank: () => ({ destination: { type: 'IvrData', name: 'Value' }, source: { type: 'FreeText', name: '' } }),
  },
  {
    type: 'Branch',
    label: 'Branch',
    exits: ['noMatch', 'error'],
    fields: [{ key: 'source', label: 'Source', kind: 'fill', help: 'a data path, e.g. call.dnis' }],
    blank: () => ({ source: 'call.dnis', branches: [] }),
  },
  {
    type: 'TextToSpeech',
    label: 'Text to Speech',
    exits: ['output', 'error'],
    phrase: 'Phrase',
    fields: [
      { key: 'text', label: 'Text', kind: 'fillArea' },
      { key: 'voice', label: 'Voice', kind: 'text', advanced: true },
    ],
    blank: () => ({ text: '' }),
  },
  {
    type: 'Play',
    label: 'Play',
    exits: ['output', 'error'],
    phrase: 'Phrases',
    fields: [],
    blank: () => ({ phrase: [] }),
  },
  {
    type: 'CaptureDigits',
    label: 'Capture Digits',
    exits: ['output', 'noInput', 'error'],
    phrase: 'Phrase',
    fields: [
      ...PROMPT_FIELDS,
      { key: 'minDigits', label: 'Min Digits', kind: 'number' },
      { key: 'maxDigits', label: 'Max Digits', kind: 'number' },
      { key: 'terminator', label: 'Terminate Digit', kind: 'text' },
      { key: 'timeout', label: 'Timeout (s)', kind: 'number' },
      { key: 'interDigitTimeout', label: 'Inter-digit Timeout (s)', kind: 'number' },
      { key: 'retries', label: 'Retries', kind: 'number' },
    ],
    blank: () => ({ prompt: { text: 'Please enter your number, then the hash key.' }, minDigits: 1, maxDigits: 10 }),
  },
  {
    type: 'Menu',
    label: 'IVR Menu',
    exits: ['noMatch', 'noInput', 'error'],
    phrase: 'Phrase',
    fields: [
      ...PROMPT_FIELDS,
      { key: 'timeout', label: 'Timeout (s)', kind: 'number' },
      { key: 'retries', label: 'Retries', kind: 'number' },
    ],
    blank: () => ({ prompt: { text: 'Press 1 for sales, 2 for support.' }, options: {} }),
  },
  {
    type: 'LookupLead',
    label: 'Lookup Lead',
    exits: ['output', 'noMatch', 'error'],
    fields: [
      { key: 'match', label: 'Match', kind: 'select', options: ['phone', 'reference'] },
      { key: 'value', label: 'Value', kind: 'fill', help: "default: the caller's number" },
    ],
    blank: () => ({ match: 'phone' }),
  },
  {
    type: 'CreateLead',
    label: 'Create Lead',
    exits: ['output', 'error'],
    fields: [],
    blank: () => ({ fields: { phonenum: '{{call.phonenum}}' } }),
  },
  {
    type: 'AddToDnc',
    label: 'Add to DNC',
    exits: ['output', 'error'],
    fields: [{ key: 'number', label: 'Number', kind: 'fill', help: "default: the caller's number" }],
    blank: () => ({}),
  },
  {
    type: 'Transfer',
    label: 'Transfer',
    exits: ['error'],
    fields: [{ key: 'target', label: 'Target', kind: 'fill', help: 'a SIP URI or phone number' }],
    blank: () => ({ target: '' }),
  },
  { type: 'Hangup', label: 'Hang Up', exits: [], fields: [], blank: () => ({}) },
];

export const TYPE_BY_NAME: Record<string, TypeSpec> = Object.fromEntries(TYPES.map((t) => [t.type, t]));

// One outgoing connection of an element: the handle it leaves by, its label, and its target.
export interface Exit {
  handle: string; // "output", "error"…, "branch:0", "option:1"
  label: string;
  target?: string;
}

export function exitsOf(element: Element): Exit[] {
  const spec = TYPE_BY_NAME[element.type];
  const next = element.next ?? {};
  const out: Exit[] = [];
  if (element.type === 'Branch' && Array.isArray(element.branches)) {
    element.branches.forEach((b, i) => {
      const branch = b as { next?: string };
      out.push({ handle: `branch:${i}`, label: String(i), target: branch?.next || undefined });
    });
  }
  if (element.type === 'Menu' && element.options && typeof element.options === 'object' && !Array.isArray(element.options)) {
    for (const [digit, target] of Object.entries(element.options)) {
      out.push({ handle: `option:${digit}`, label: digit, target: typeof target === 'string' && target ? target : undefined });
    }
  }
  for (const exit of spec?.exits ?? Object.keys(next)) out.push({ handle: exit, label: exit, target: next[exit] });
  return out;
}

// --- reading and writing a setting by its dotted key ---------------------------------------------

export function getSetting(element: Element, key: string): Json | undefined {
  let value: Json | undefined = element as unknown as Json;
  for (const part of key.split('.')) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, Json>)[part];
  }
  return value;
}

export function setSetting(element: Element, key: string, value: Json | undefined): Element {
  const parts = key.split('.');
  const copy = structuredClone(element) as Record<string, Json | undefined>;
  let target = copy;
  for (const part of parts.slice(0, -1)) {
    const child = target[part];
    if (!child || typeof child !== 'object' || Array.isArray(child)) target[part] = {};
    target = target[part] as Record<string, Json | undefined>;
  }
  const last = parts[parts.length - 1];
  if (value === undefined || value === '') delete target[last];
  else target[last] = value;
  // An object left empty (auth without fields) is dropped, so the document stays valid.
  if (parts.length > 1) {
    const parent = copy[parts[0]];
    if (parent && typeof parent === 'object' && !Array.isArray(parent) && Object.keys(parent).length === 0) {
      delete copy[parts[0]];
    }
  }
  return copy as Element;
}

// --- edits of the whole document -----------------------------------------------------------------

export function emptyFlow(name: string): FlowDoc {
  return { format: 1, name, start: '', defaultResultCode: 'INBOUND', elements: [], layout: { nodes: {} } };
}

export function uniqueName(doc: FlowDoc, base: string): string {
  const taken = new Set(doc.elements.map((e) => e.name));
  for (let i = 1; ; ++i) {
    const name = `${base}${i}`;
    if (!taken.has(name)) return name;
  }
}

export function addElement(doc: FlowDoc, type: string, position: Position, name?: string): FlowDoc {
  const spec = TYPE_BY_NAME[type];
  const elementName = name ?? uniqueName(doc, type === 'ApiRequest' ? 'API' : type);
  const element: Element = { name: elementName, type, ...(spec.blank() as object) } as Element;
  const nodes = { ...(doc.layout?.nodes ?? {}), [elementName]: position };
  return {
    ...doc,
    start: doc.start || elementName,
    elements: [...doc.elements, element],
    layout: { ...(doc.layout ?? {}), nodes },
  };
}

export function replaceElement(doc: FlowDoc, name: string, element: Element): FlowDoc {
  return { ...doc, elements: doc.elements.map((e) => (e.name === name ? element : e)) };
}

export function connect(doc: FlowDoc, source: string, handle: string, target: string | undefined): FlowDoc {
  const element = doc.elements.find((e) => e.name === source);
  if (!element) return doc;
  const copy = structuredClone(element);
  if (handle.startsWith('branch:')) {
    const index = Number(handle.slice(7));
    const branches = (copy.branches as Record<string, Json>[]) ?? [];
    if (branches[index]) {
      if (target) branches[index].next = target;
      else delete branches[index].next;
    }
  } else if (handle.startsWith('option:')) {
    const digit = handle.slice(7);
    const options = (copy.options as Record<string, Json>) ?? {};
    options[digit] = target ?? '';
    copy.options = options;
  } else {
    const next = { ...(copy.next ?? {}) };
    if (target) next[handle] = target;
    else delete next[handle];
    if (Object.keys(next).length) copy.next = next;
    else delete copy.next;
  }
  return replaceElement(doc, source, copy);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Every reference to an element: start, exits, Branch and Menu targets, layout and samples, and
// the element's name at the head of a data path (`{{OLD.Result.x}}`, a Branch source).
function mapReferences(doc: FlowDoc, from: string, to: string | undefined): FlowDoc {
  const pathHead = new RegExp(`(^|\\{\\{\\s*)${escapeRegExp(from)}(?=\\.(Result|StatusCode|Error)\\b)`, 'g');
  const renameText = (value: Json): Json => {
    if (to === undefined) return value;
    if (typeof value === 'string') return value.replace(pathHead, `$1${to}`);
    if (Array.isArray(value)) return value.map(renameText);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renameText(v)]));
    }
    return value;
  };
  const elements = doc.elements.map((element) => {
    const copy = renameText(structuredClone(element) as unknown as Json) as unknown as Element;
    copy.name = element.name === from && to ? to : element.name;
    if (copy.next) {
      for (const [exit, target] of Object.entries(copy.next)) {
        if (target !== from) continue;
        if (to) copy.next[exit] = to;
        else delete copy.next[exit];
      }
      if (!Object.keys(copy.next).length) delete copy.next;
    }
    if (Array.isArray(copy.branches)) {
      for (const b of copy.branches as Record<string, Json>[]) {
        if (b?.next === from) {
          if (to) b.next = to;
          else delete b.next;
        }
      }
    }
    if (copy.options && typeof copy.options === 'object' && !Array.isArray(copy.options)) {
      const options = copy.options as Record<string, Json>;
      for (const digit of Object.keys(options)) if (options[digit] === from) options[digit] = to ?? '';
    }
    return copy;
  });
  const nodes = { ...(doc.layout?.nodes ?? {}) };
  const samples = { ...(doc.samples ?? {}) };
  if (to) {
    if (nodes[from]) nodes[to] = nodes[from];
    if (samples[from]) samples[to] = samples[from];
  }
  delete nodes[from];
  delete samples[from];
  const out: FlowDoc = { ...doc, elements, layout: { ...(doc.layout ?? {}), nodes } };
  if (doc.samples) out.samples = samples;
  if (doc.start === from) out.start = to ?? elements[0]?.name ?? '';
  return out;
}

export function renameElement(doc: FlowDoc, from: string, to: string): FlowDoc {
  if (from === to || doc.elements.some((e) => e.name === to)) return doc;
  return mapReferences(doc, from, to);
}

export function deleteElements(doc: FlowDoc, names: string[]): FlowDoc {
  let out = doc;
  for (const name of names) {
    out = mapReferences(out, name, undefined);
    out = { ...out, elements: out.elements.filter((e) => e.name !== name) };
    if (out.start === name) out.start = out.elements[0]?.name ?? '';
  }
  return out;
}

// The elements that can run before `name` on some path from any element (its ancestors).
export function ancestors(doc: FlowDoc, name: string): string[] {
  const parents = new Map<string, Set<string>>();
  for (const element of doc.elements) {
    for (const exit of exitsOf(element)) {
      if (!exit.target) continue;
      if (!parents.has(exit.target)) parents.set(exit.target, new Set());
      parents.get(exit.target)!.add(element.name);
    }
  }
  const seen = new Set<string>();
  const queue = [name];
  while (queue.length) {
    for (const parent of parents.get(queue.pop()!) ?? []) {
      if (!seen.has(parent)) {
        seen.add(parent);
        queue.push(parent);
      }
    }
  }
  seen.delete(name);
  return doc.elements.map((e) => e.name).filter((n) => seen.has(n));
}

// The paths of a sample response's JSON, as fillpoint paths under `NAME.Result`.
export function samplePaths(prefix: string, value: Json, out: string[] = [], depth = 0): string[] {
  if (depth > 8 || out.length > 200) return out;
  if (Array.isArray(value)) {
    value.slice(0, 3).forEach((item, i) => samplePaths(`${prefix}[${i}]`, item, out, depth + 1));
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const path = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${prefix}.${key}` : null;
      if (path) samplePaths(path, item, out, depth + 1);
    }
  } else {
    out.push(prefix);
  }
  return out;
}

// What `{{` may complete to in element `name`: the call variables, the properties set earlier on
// a path, and the results of earlier elements (with the paths of their last test responses).
export function completions(doc: FlowDoc, name: string): string[] {
  const out: string[] = [...CALL_VARIABLES];
  for (const before of ancestors(doc, name)) {
    const element = doc.elements.find((e) => e.name === before)!;
    if (element.type === 'SetProperty') {
      const type = getSetting(element, 'destination.type');
      const property = getSetting(element, 'destination.name');
      if (typeof property === 'string' && property) {
        if (type === 'IvrData') out.push(property);
        if (type === 'DynamicProperty') out.push(`dynamic.${property}`);
      }
    }
    if (element.type === 'ApiRequest') {
      out.push(`${before}.Result`, `${before}.StatusCode`, `${before}.Error`);
      const sample = doc.samples?.[before];
      if (sample) out.push(...samplePaths(`${before}.Result`, sample.body));
    }
    if (['CaptureDigits', 'LookupLead', 'CreateLead'].includes(element.type)) out.push(`${before}.Result`);
    if (['LookupLead', 'CreateLead', 'AddToDnc', 'Transfer'].includes(element.type)) out.push(`${before}.Error`);
  }
  return [...new Set(out)];
}

// The fillpoint paths a text uses, without `secret.` ones (the server fills those itself).
export function fillpointsIn(texts: string[]): string[] {
  const out = new Set<string>();
  for (const text of texts) {
    for (const match of text.matchAll(/\{\{\s*([^}|\s]+)\s*(\|[^}]*)?\}\}/g)) {
      if (!match[1].startsWith('secret.')) out.add(match[1]);
    }
  }
  return [...out];
}
