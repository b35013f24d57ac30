/* onair API docs: a small, dependency-free OpenAPI 3.1 renderer (ES2017).
 * All spec text enters the DOM as text nodes / attribute values, never as HTML. */
(() => {
  'use strict';
  const cur = document.currentScript;
  // This script is .../v1/docs/assets/docs.js, so the spec is ../../openapi.json from here.
  const SPEC_URL = new URL(cur && cur.src ? '../../openapi.json' : 'openapi.json', cur && cur.src ? cur.src : location.href).href;
  const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  const SCH = '#/components/schemas/';
  const CHIPS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems',
    'maxItems', 'multipleOf', 'pattern', 'default', 'uniqueItems', 'readOnly', 'writeOnly', 'deprecated'];
  const FLAGS = ['uniqueItems', 'readOnly', 'writeOnly', 'deprecated'];
  let spec = {};

  // ---------- helpers ----------
  function add(el, kids) {
    for (const c of kids) {
      if (c == null || c === false || c === '') continue;
      if (Array.isArray(c)) add(el, c);
      else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    return add(el, kids);
  }
  const obj = x => x !== null && typeof x === 'object' && !Array.isArray(x);
  const keys = x => (obj(x) ? Object.keys(x) : []);
  const arr = x => (Array.isArray(x) ? x : []);
  const json = v => { try { const s = JSON.stringify(v); return s === undefined ? String(v) : s; } catch (e) { return String(v); } };
  // Descriptions are CommonMark in OpenAPI; `code spans` are the part ours use (the rest shows as text).
  const inline = t => String(t).split('`').map((part, i) => (i % 2 ? h('code', null, part) : part));
  const desc = t => (t ? h('div', { class: 'desc' }, inline(t)) : null);
  const note = (t, c) => h('div', { class: c ? 'note ' + c : 'note' }, t);
  const safeId = s => String(s).replace(/[^\w.-]/g, '_');
  const schemaId = n => 'schema-' + safeId(n);
  const tline = s => h('div', { class: 'tline' }, h('span', { class: 'ptype' }, typeNodes(s)), chips(s));
  // <details> whose content is built on first open: keeps big specs fast and makes cycles harmless.
  function lazy(det, fn) {
    let done = false;
    det.addEventListener('toggle', () => { if (det.open && !done) { done = true; det.appendChild(fn()); } });
    return det;
  }
  function store(k, v) {
    try {
      if (v === undefined) return sessionStorage.getItem('onair-docs.' + k) || '';
      sessionStorage.setItem('onair-docs.' + k, v);
    } catch (e) { /* storage disabled */ }
    return '';
  }
  function jump(id) {
    const el = document.getElementById(id);
    if (!el) return;
    for (let p = el; p; p = p.parentElement) if (p.tagName === 'DETAILS') p.open = true;
    el.scrollIntoView({ block: 'start' });
    el.classList.remove('flash'); void el.offsetWidth; el.classList.add('flash');
    try { history.replaceState(null, '', '#' + id); } catch (e) { /* ignore */ }
  }
  const jumpLink = (id, cls, ...kids) => h('a', { href: '#' + id, class: cls, onclick: e => { e.preventDefault(); e.stopPropagation(); jump(id); } }, kids);

  // ---------- $ref ----------
  function ptr(ref) {
    if (typeof ref !== 'string' || ref[0] !== '#') return undefined;
    let node = spec;
    for (const raw of ref.slice(1).split('/').slice(1)) {
      if (node === null || typeof node !== 'object') return undefined;
      node = node[decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    return node;
  }
  function deref(o) {
    for (let i = 0; obj(o) && typeof o.$ref === 'string' && i < 20; i++) o = ptr(o.$ref);
    return obj(o) ? o : {};
  }
  const refName = r => (r.startsWith(SCH) ? decodeURIComponent(r.slice(SCH.length)).replace(/~1/g, '/').replace(/~0/g, '~') : r);
  const refLink = r => (r.startsWith(SCH) ? jumpLink(schemaId(refName(r)), 'ref', refName(r)) : h('code', null, r));

  // ---------- schemas ----------
  const nonNull = l => l.filter(v => !(obj(v) && v.type === 'null'));
  const alts = s => (Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : null);
  // A nullable wrapper (anyOf: [X, {type: "null"}]) is described by X.
  function main(s) {
    const n = obj(s) && alts(s) && nonNull(alts(s));
    return n && n.length === 1 && obj(n[0]) ? n[0] : s;
  }
  const joinTypes = (l, sep) => l.reduce((acc, x, i) => acc.concat(i ? [sep] : [], typeNodes(x)), []);
  function typeNodes(s) {
    if (!obj(s)) return [s === false ? 'never' : 'any'];
    if (typeof s.$ref === 'string') return [refLink(s.$ref)];
    if ('const' in s) return ['const ' + json(s.const)];
    if (alts(s)) return joinTypes(alts(s), ' | ');
    if (Array.isArray(s.allOf)) return joinTypes(s.allOf, ' & ');
    const types = Array.isArray(s.type) ? s.type : s.type ? [s.type]
      : [s.properties ? 'object' : s.items ? 'array' : s.enum ? 'enum' : 'any'];
    return types.reduce((acc, t, i) => acc.concat(i ? [' | '] : [],
      t === 'array' ? ['array<', ...typeNodes(s.items), '>'] : [t === 'null' || !s.format ? String(t) : `${t} (${s.format})`]), []);
  }
  function chips(s) {
    if (!obj(s)) return [];
    const out = [];
    if (Array.isArray(s.enum)) out.push(h('span', { class: 'chip enum' }, 'enum: ' + s.enum.map(json).join(', ')));
    for (const k of CHIPS) {
      const v = s[k];
      if (v === undefined) continue;
      // Flags read as their name when set; every other keyword shows its value (`default: false` included).
      if (FLAGS.includes(k)) { if (v === true) out.push(h('span', { class: 'chip' }, k)); continue; }
      out.push(h('span', { class: 'chip' }, k + ': ' + (typeof v === 'string' && k !== 'default' ? v : json(v))));
    }
    const ex = s.example !== undefined ? s.example : arr(s.examples)[0];
    if (ex !== undefined) out.push(h('span', { class: 'chip ex' }, 'example: ' + json(ex)));
    if (obj(s.items) && !complex(s.items)) out.push(...chips(s.items)); // e.g. enum of array items
    return out;
  }
  function complex(s) {
    if (!obj(s)) return false;
    if (typeof s.$ref === 'string' || keys(s.properties).length || obj(s.additionalProperties)) return true;
    if (s.items !== undefined) return complex(s.items);
    return (alts(s) || arr(s.allOf)).some(complex);
  }
  function row(name, s, required, anc, variant) {
    const m = main(s);
    const head = [h('span', { class: variant ? 'pname variant' : 'pname' }, name),
      required ? h('span', { class: 'req', title: 'required' }, '*') : null,
      h('span', { class: 'ptype' }, typeNodes(s)), chips(s), m !== s ? chips(m) : null];
    const d = obj(s) ? s.description || (m !== s && m.description) : '';
    if (!complex(s)) return h('div', { class: 'prow' }, h('div', { class: 'phead' }, head), desc(d));
    return lazy(h('details', { class: 'prow' }, h('summary', { class: 'phead' }, head), desc(d)), () => body(s, anc));
  }
  // Children of a schema; `anc` is the chain of $refs being expanded (cycle guard).
  function body(s, anc) {
    const out = h('div', { class: 'nest' });
    if (!obj(s)) return out;
    if (typeof s.$ref === 'string') {
      if (anc.includes(s.$ref)) return add(out, [note('↻ circular reference to ' + refName(s.$ref))]);
      const t = ptr(s.$ref);
      if (!obj(t)) return add(out, [note('unresolved reference ' + s.$ref, 'err')]);
      return add(out, [desc(t.description), tline(t), body(t, anc.concat(s.$ref))]);
    }
    const a = alts(s);
    if (a && nonNull(a).length === 1) add(out, [body(nonNull(a)[0], anc)]);
    else if (a) a.forEach((v, i) => add(out, [row(`${s.anyOf ? 'anyOf' : 'oneOf'} [${i}]`, v, false, anc, true)]));
    arr(s.allOf).forEach((v, i) => add(out, [row(`allOf [${i}]`, v, false, anc, true)]));
    const req = arr(s.required);
    for (const k of keys(s.properties)) add(out, [row(k, s.properties[k], req.includes(k), anc)]);
    if (complex(s.items)) add(out, [row('[items]', s.items, false, anc, true)]);
    const ap = s.additionalProperties;
    if (obj(ap)) add(out, [row('{additional properties}', ap, false, anc, true)]);
    else if (ap === true) add(out, [note('additional properties allowed')]);
    else if (ap === false && keys(s.properties).length) add(out, [note('no additional properties')]);
    return out;
  }
  const schemaBlock = s => h('div', { class: 'schema' }, tline(s), body(s, []));
  // Example value for the "Try it" body: skips readOnly fields and cut cycles.
  function sample(s, seen) {
    if (obj(s) && typeof s.$ref === 'string') {
      if (seen.includes(s.$ref) || seen.length > 6) return undefined;
      seen = seen.concat(s.$ref);
    }
    s = deref(s);
    for (const v of [s.example, arr(s.examples)[0], s.default, s.const, arr(s.enum)[0]]) if (v !== undefined) return v;
    if (alts(s)) return sample(nonNull(alts(s))[0], seen);
    if (Array.isArray(s.allOf)) return Object.assign({}, ...s.allOf.map(x => sample(x, seen)).filter(obj));
    const t = (Array.isArray(s.type) ? nonNull(s.type.map(type => ({ type })))[0] || {} : s).type
      || (s.properties ? 'object' : s.items ? 'array' : 'string');
    if (t === 'object') {
      const o = {};
      for (const k of keys(s.properties)) {
        const v = deref(s.properties[k]).readOnly ? undefined : sample(s.properties[k], seen);
        if (v !== undefined) o[k] = v;
      }
      return o;
    }
    if (t === 'array') { const v = sample(s.items, seen); return v === undefined ? [] : [v]; }
    if (t === 'integer' || t === 'number') return s.minimum !== undefined ? s.minimum : 0;
    return t === 'boolean' ? false : t === 'null' ? null : s.format ? `<${s.format}>` : 'string';
  }

  // ---------- operations ----------
  function params(o) {
    const map = Object.create(null);
    for (let p of [...arr(o.item.parameters), ...arr(o.op.parameters)]) {
      p = deref(p);
      if (p.name) map[p.in + ':' + p.name] = p;
    }
    return Object.values(map);
  }
  const pSchema = p => (p.schema !== undefined ? p.schema : keys(p.content).length ? deref(p.content[keys(p.content)[0]]).schema : undefined);
  const paramTable = ps => h('table', { class: 'params' },
    h('thead', null, h('tr', null, ['Name', 'In', 'Type', 'Description'].map(t => h('th', null, t)))),
    h('tbody', null, ps.map(p => {
      const s = pSchema(p);
      return h('tr', null,
        h('td', null, h('code', null, p.name), p.required ? h('span', { class: 'req', title: 'required' }, '*') : null),
        h('td', null, p.in),
        h('td', null, h('span', { class: 'ptype' }, typeNodes(s)), chips(s), main(s) !== s ? chips(main(s)) : null),
        h('td', null, p.deprecated ? h('span', { class: 'chip warn' }, 'deprecated') : null, desc(p.description || (obj(s) && s.description))));
    })));
  const content = c => keys(c).map(mt => {
    const m = deref(c[mt]), exs = keys(m.examples);
    const ex = m.example !== undefined ? m.example : exs.length ? deref(m.examples[exs[0]]).value : undefined;
    return h('div', { class: 'media' }, h('div', { class: 'mt' }, mt),
      m.schema !== undefined ? schemaBlock(m.schema) : null,
      ex !== undefined ? h('pre', { class: 'example' }, JSON.stringify(ex, null, 2)) : null);
  });
  const security = o => (Array.isArray(o.op.security) ? o.op.security : Array.isArray(spec.security) ? spec.security : null);
  function renderOp(o) {
    const op = o.op;
    const sum = h('summary', null, h('span', { class: 'badge m-' + o.method }, o.method.toUpperCase()),
      h('code', { class: 'path' }, o.path), h('span', { class: 'osum' }, op.summary || ''),
      op.deprecated ? h('span', { class: 'chip warn' }, 'deprecated') : null);
    return lazy(h('details', { class: 'op m-' + o.method, id: o.id }, sum), () => {
      const ps = params(o), rb = deref(op.requestBody), sec = security(o);
      return h('div', { class: 'obody' },
        desc(op.description),
        op.operationId ? h('div', { class: 'meta' }, 'operationId: ', h('code', null, op.operationId)) : null,
        sec ? h('div', { class: 'meta' }, 'Security: ', sec.length ? sec.map(r => keys(r).join(' + ') || 'none').join(' or ') : 'none') : null,
        ps.length ? [h('h4', null, 'Parameters'), paramTable(ps)] : null,
        op.requestBody ? [h('h4', null, 'Request body', rb.required ? h('span', { class: 'req', title: 'required' }, '*') : null),
          desc(rb.description), content(rb.content)] : null,
        h('h4', null, 'Responses'),
        keys(op.responses).length ? keys(op.responses).map(code => {
          const r = deref(op.responses[code]);
          return h('div', { class: 'resp' }, h('div', { class: 'rhead' },
            h('span', { class: 'code c' + code[0] }, code), desc(r.description)), content(r.content));
        }) : note('No responses documented.'),
        tryIt(o, ps));
    });
  }

  // ---------- "Try it" ----------
  function defaultBase() {
    let dir = new URL('.', SPEC_URL); // .../v1/
    const seg = dir.pathname.replace(/\/+$/, '').split('/').pop();
    const srv = arr(spec.servers)[0] && spec.servers[0].url;
    // Paths that repeat the spec's folder ("/v1/...") are relative to its parent.
    if (seg && keys(spec.paths).some(p => p.startsWith('/' + seg + '/'))) dir = new URL('..', dir);
    else if (typeof srv === 'string' && !srv.includes('{')) dir = new URL(srv, SPEC_URL);
    return dir.href.replace(/\/+$/, '');
  }
  function applyAuth(o, headers, qs) {
    const key = store('key'), schemes = (spec.components || {}).securitySchemes, sec = security(o);
    if (!key) return;
    for (const n of sec ? [].concat(...sec.map(keys)) : keys(schemes).slice(0, 1)) {
      const s = deref(obj(schemes) && schemes[n]);
      if (s.type === 'apiKey' && s.name && s.in !== 'cookie') {
        if (s.in === 'query') qs.append(s.name, key); else headers[s.name] = key;
        return;
      }
      if (s.type === 'http' || s.type === 'oauth2' || s.type === 'openIdConnect') {
        headers.Authorization = (String(s.scheme).toLowerCase() === 'basic' ? 'Basic ' : 'Bearer ') + key;
        return;
      }
    }
  }
  const tryIt = (o, ps) => lazy(h('details', { class: 'try' }, h('summary', null, 'Try it')), () => {
    const inputs = [], out = h('div', { class: 'tryout' }), form = h('form', { class: 'tryform' });
    for (const p of ps) {
      if (p.in === 'cookie') continue;
      const s = deref(pSchema(p)), inp = h('input', { type: 'text', placeholder: p.in + (p.required ? ', required' : '') });
      if (s.default !== undefined) inp.value = String(s.default);
      inputs.push([p, inp, s]);
      add(form, [h('label', null, h('span', null, `${p.name}${p.required ? ' *' : ''} (${p.in})`), inp)]);
    }
    const rbc = deref(o.op.requestBody).content || {};
    const mt = rbc['application/json'] ? 'application/json' : keys(rbc)[0];
    let ta = null;
    if (mt && o.method !== 'get' && o.method !== 'head') {
      const m = deref(rbc[mt]), ex = m.example !== undefined ? m.example : sample(m.schema, []);
      ta = h('textarea', { rows: 8, spellcheck: 'false' });
      ta.value = typeof ex === 'string' && !mt.includes('json') ? ex : JSON.stringify(ex === undefined ? {} : ex, null, 2);
      add(form, [h('label', { class: 'wide' }, h('span', null, `Body (${mt})`), ta)]);
    }
    add(form, [h('button', { type: 'submit' }, 'Send')]);
    form.addEventListener('submit', e => { e.preventDefault(); send(o, inputs, ta, mt, out); });
    return h('div', null, form, out);
  });
  async function send(o, inputs, ta, mt, out) {
    out.textContent = '';
    let path = o.path;
    const qs = new URLSearchParams(), headers = {}, missing = [];
    for (const [p, inp, s] of inputs) {
      const v = inp.value;
      if (v === '') { if (p.required) missing.push(p.name); continue; }
      if (p.in === 'path') path = path.split('{' + p.name + '}').join(encodeURIComponent(v));
      else if (p.in === 'query') (s.type === 'array' ? v.split(',') : [v]).forEach(w => qs.append(p.name, w.trim()));
      else if (p.in === 'header') headers[p.name] = v;
    }
    if (missing.length) return add(out, [note('Missing required: ' + missing.join(', '), 'err')]);
    applyAuth(o, headers, qs);
    const init = { method: o.method.toUpperCase(), headers };
    if (ta && ta.value.trim()) { init.body = ta.value; headers['Content-Type'] = mt; }
    const url = (store('base') || defaultBase()).replace(/\/+$/, '') + path + (String(qs) ? '?' + qs : '');
    add(out, [h('div', { class: 'meta' }, init.method + ' ' + url)]);
    const t0 = Date.now();
    try {
      const res = await fetch(url, init);
      let text = await res.text();
      try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
      add(out, [h('div', { class: 'rhead' }, h('span', { class: 'code c' + String(res.status)[0] }, res.status),
        ` ${res.statusText} · ${Date.now() - t0} ms`), h('pre', { class: 'example' }, text || '(empty body)')]);
    } catch (err) {
      add(out, [note('Request failed: ' + ((err && err.message) || err), 'err')]);
    }
  }

  // ---------- page ----------
  function renderSecurity() {
    const ss = (spec.components || {}).securitySchemes;
    if (!keys(ss).length) return null;
    return h('section', { class: 'block', id: 'security' }, h('h2', null, 'Authentication'),
      h('table', { class: 'params' }, h('tbody', null, keys(ss).map(n => {
        const s = deref(ss[n]), t = s.type;
        const d = t === 'apiKey' ? [`API key in ${s.in}: `, h('code', null, s.name || '')]
          : t === 'http' ? `HTTP ${s.scheme || ''}${s.bearerFormat ? ` (${s.bearerFormat})` : ''}`
          : t === 'oauth2' ? 'OAuth 2 flows: ' + keys(s.flows).join(', ')
          : t === 'openIdConnect' ? 'OpenID Connect: ' + (s.openIdConnectUrl || '') : '';
        return h('tr', null, h('td', null, h('code', null, n)), h('td', null, t || ''), h('td', null, d, desc(s.description)));
      }))));
  }
  function renderSchemas() {
    const ss = (spec.components || {}).schemas;
    if (!keys(ss).length) return null;
    return h('section', { class: 'block', id: 'schemas' }, h('h2', null, 'Schemas'), keys(ss).map(n => {
      const s = ss[n], ref = SCH + n.replace(/~/g, '~0').replace(/\//g, '~1');
      return lazy(h('details', { class: 'component', id: schemaId(n) },
        h('summary', null, h('span', { class: 'cname' }, n), h('span', { class: 'ptype' }, typeNodes(s)))),
      () => h('div', { class: 'obody' }, desc(obj(s) && s.description), h('div', { class: 'tline' }, chips(s)), body(s, [ref])));
    }));
  }
  function render() {
    const info = obj(spec.info) ? spec.info : {}, ops = [], dict = () => Object.create(null);
    const used = dict(), groups = dict(), tagDesc = dict();
    for (const path of keys(spec.paths)) {
      const item = deref(spec.paths[path]);
      for (const method of METHODS) {
        if (!obj(item[method])) continue;
        let id = 'op-' + safeId(item[method].operationId || method + path);
        while (used[id]) id += '_';
        used[id] = 1;
        ops.push({ path, method, op: item[method], item, id });
      }
    }
    for (const t of arr(spec.tags)) if (obj(t) && t.name) { groups[t.name] = []; tagDesc[t.name] = t.description; }
    for (const o of ops) {
      const tags = arr(o.op.tags).length ? o.op.tags : ['default'];
      tags.forEach((t, i) => (groups[t] = groups[t] || []).push({ o, primary: i === 0 }));
    }
    const order = keys(groups).filter(t => groups[t].length);

    document.title = (info.title || 'API') + ' – API documentation';
    const nav = h('nav', { class: 'side' }, jumpLink('top', 'navtitle', info.title || 'API'),
      order.map(t => h('div', { class: 'navgroup' }, h('div', { class: 'navtag' }, t), groups[t].map(({ o }) => {
        return jumpLink(o.id, 'navop', h('span', { class: 'badge m-' + o.method }, o.method.toUpperCase()), h('span', { class: 'navpath' }, o.path));
      }))),
      keys((spec.components || {}).schemas).length ? jumpLink('schemas', 'navtag navlink', 'Schemas') : null);
    const keyIn = h('input', { type: 'password', autocomplete: 'off', placeholder: 'API key (kept in this tab only)' });
    const baseIn = h('input', { type: 'text', placeholder: defaultBase() });
    keyIn.value = store('key');
    baseIn.value = store('base');
    keyIn.addEventListener('input', () => store('key', keyIn.value));
    baseIn.addEventListener('input', () => store('base', baseIn.value.trim()));

    const mainEl = h('main', { class: 'content' },
      h('header', { class: 'block', id: 'top' },
        h('h1', null, info.title || 'API', ' ', h('span', { class: 'chip' }, 'v' + (info.version || '?')), ' ',
          h('span', { class: 'chip' }, 'OpenAPI ' + (spec.openapi || '?'))),
        desc(info.summary), desc(info.description),
        h('div', { class: 'meta' }, 'Spec: ', h('a', { href: SPEC_URL }, 'openapi.json')),
        h('form', { class: 'auth', onsubmit: e => e.preventDefault() },
          h('label', null, h('span', null, 'API key'), keyIn), h('label', null, h('span', null, 'Base URL'), baseIn))),
      renderSecurity(),
      order.length ? order.map(t => {
        const prim = groups[t].filter(g => g.primary);
        return prim.length ? h('section', { class: 'block' }, h('h2', null, t), desc(tagDesc[t]), prim.map(g => renderOp(g.o))) : null;
      }) : h('section', { class: 'block' }, note('This API has no documented operations.')),
      renderSchemas());
    const app = document.getElementById('app');
    app.textContent = '';
    app.className = 'layout';
    add(app, [nav, mainEl]);
    try { if (location.hash.length > 1) jump(decodeURIComponent(location.hash.slice(1))); } catch (e) { /* bad hash */ }
  }
  function fail(msg) {
    const app = document.getElementById('app');
    app.textContent = '';
    add(app, [h('p', { class: 'fatal' }, msg)]);
  }

  fetch(SPEC_URL, { headers: { Accept: 'application/json' } })
    .then(r => { if (!r.ok) throw new Error(`HTTP ${r.status} loading ${SPEC_URL}`); return r.json(); })
    .then(data => {
      spec = obj(data) ? data : {};
      try { render(); } catch (e) { fail('Could not render the API description: ' + e.message); console.error(e); }
    }, e => fail('Could not load the API description: ' + e.message));
})();
