/* onair API docs: a small, dependency-free OpenAPI 3.1 renderer.
 * Every piece of spec text enters the DOM through text nodes (never innerHTML). */
(function () {
  'use strict';
  var cur = document.currentScript;
  // The script lives at .../v1/docs/assets/docs.js; the spec at .../v1/openapi.json.
  var SPEC_URL = cur && cur.src ? new URL('../../openapi.json', cur.src).href
                                : new URL('openapi.json', location.href).href;
  var METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  var SCH = '#/components/schemas/';
  var CHIPS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength',
    'minItems', 'maxItems', 'minProperties', 'maxProperties', 'multipleOf', 'pattern', 'default',
    'uniqueItems', 'readOnly', 'writeOnly', 'deprecated'];
  var spec = {};

  // ---------- DOM helpers ----------
  function add(el, kids) {
    for (var i = 0; i < kids.length; i++) {
      var c = kids[i];
      if (c == null || c === false || c === '') continue;
      if (Array.isArray(c)) add(el, c);
      else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v == null || v === false) return;
      if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    });
    return add(el, Array.prototype.slice.call(arguments, 2));
  }
  var obj = function (x) { return x !== null && typeof x === 'object' && !Array.isArray(x); };
  var keys = function (x) { return obj(x) ? Object.keys(x) : []; };
  var json = function (v) { try { var s = JSON.stringify(v); return s === undefined ? String(v) : s; } catch (e) { return String(v); } };
  var desc = function (t) { return t ? h('div', { class: 'desc' }, String(t)) : null; };
  var note = function (t) { return h('div', { class: 'note' }, t); };
  function lazy(det, fn) {
    var done = false;
    det.addEventListener('toggle', function () {
      if (det.open && !done) { done = true; det.appendChild(fn()); }
    });
    return det;
  }
  function store(k, v) {
    try { if (v === undefined) return sessionStorage.getItem('onair-docs.' + k) || ''; sessionStorage.setItem('onair-docs.' + k, v); } catch (e) { /* storage disabled */ }
    return '';
  }
  function jump(id) {
    var el = document.getElementById(id);
    if (!el) return;
    for (var p = el; p; p = p.parentElement) if (p.tagName === 'DETAILS') p.open = true;
    el.scrollIntoView({ block: 'start' });
    el.classList.remove('flash'); void el.offsetWidth; el.classList.add('flash');
    try { history.replaceState(null, '', '#' + id); } catch (e) { /* ignore */ }
  }
  var safeId = function (s) { return String(s).replace(/[^\w.-]/g, '_'); };
  var schemaId = function (name) { return 'schema-' + safeId(name); };

  // ---------- $ref handling ----------
  function ptr(ref) {
    if (typeof ref !== 'string' || ref.charAt(0) !== '#') return undefined;
    var node = spec, parts = ref.slice(1).split('/').slice(1);
    for (var i = 0; i < parts.length; i++) {
      var k = decodeURIComponent(parts[i]).replace(/~1/g, '/').replace(/~0/g, '~');
      if (node === null || typeof node !== 'object') return undefined;
      node = node[k];
    }
    return node;
  }
  function deref(o) {
    for (var i = 0; obj(o) && typeof o.$ref === 'string' && i < 20; i++) o = ptr(o.$ref);
    return obj(o) ? o : {};
  }
  function refName(ref) {
    if (ref.indexOf(SCH) !== 0) return ref;
    return decodeURIComponent(ref.slice(SCH.length)).replace(/~1/g, '/').replace(/~0/g, '~');
  }
  function refLink(ref) {
    if (ref.indexOf(SCH) !== 0) return h('code', null, ref);
    var id = schemaId(refName(ref));
    return h('a', { href: '#' + id, class: 'ref', onclick: function (e) { e.preventDefault(); e.stopPropagation(); jump(id); } }, refName(ref));
  }

  // ---------- schemas ----------
  var nonNull = function (l) { return l.filter(function (v) { return !(obj(v) && v.type === 'null'); }); };
  function alts(s) { return Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : null; }
  // A nullable wrapper (anyOf: [X, {type: null}]) is shown as X.
  function main(s) { var a = obj(s) && alts(s), n = a && nonNull(a); return n && n.length === 1 && obj(n[0]) ? n[0] : s; }
  function joinTypes(list, sep) {
    return list.reduce(function (acc, x, i) { return acc.concat(i ? [sep] : [], typeNodes(x)); }, []);
  }
  function typeNodes(s) {
    if (!obj(s)) return [s === false ? 'never' : 'any'];
    if (typeof s.$ref === 'string') return [refLink(s.$ref)];
    if ('const' in s) return ['const ' + json(s.const)];
    if (alts(s)) return joinTypes(alts(s), ' | ');
    if (Array.isArray(s.allOf)) return joinTypes(s.allOf, ' & ');
    var types = Array.isArray(s.type) ? s.type : s.type ? [s.type]
      : [s.properties ? 'object' : s.items ? 'array' : s.enum ? 'enum' : 'any'];
    return types.reduce(function (acc, t, i) {
      var part = t === 'array' ? ['array<'].concat(typeNodes(s.items), ['>'])
        : [t === 'null' || !s.format ? String(t) : t + ' (' + s.format + ')'];
      return acc.concat(i ? [' | '] : [], part);
    }, []);
  }
  function chips(s) {
    var out = [];
    if (!obj(s)) return out;
    if (Array.isArray(s.enum)) out.push(h('span', { class: 'chip enum' }, 'enum: ' + s.enum.map(json).join(', ')));
    CHIPS.forEach(function (k) {
      var v = s[k];
      if (v === undefined || v === false) return;
      out.push(h('span', { class: 'chip' }, v === true ? k : k + ': ' + (typeof v === 'string' && k !== 'default' ? v : json(v))));
    });
    var ex = s.example !== undefined ? s.example : Array.isArray(s.examples) && s.examples.length ? s.examples[0] : undefined;
    if (ex !== undefined) out.push(h('span', { class: 'chip ex' }, 'example: ' + json(ex)));
    return out;
  }
  function complex(s) {
    if (!obj(s)) return false;
    if (typeof s.$ref === 'string' || keys(s.properties).length || obj(s.additionalProperties)) return true;
    if (s.items !== undefined) return complex(s.items);
    var a = alts(s) || s.allOf;
    return Array.isArray(a) && a.some(complex);
  }
  function row(name, s, required, anc, variant) {
    var m = main(s);
    var head = [h('span', { class: variant ? 'pname variant' : 'pname' }, name),
      required ? h('span', { class: 'req', title: 'required' }, '*') : null,
      h('span', { class: 'ptype' }, typeNodes(s)), chips(s), m !== s ? chips(m) : null];
    var d = obj(s) ? s.description || (m !== s && m.description) : '';
    if (!complex(s)) return h('div', { class: 'prow' }, h('div', { class: 'phead' }, head), desc(d));
    return lazy(h('details', { class: 'prow' }, h('summary', { class: 'phead' }, head), desc(d)),
      function () { return body(s, anc); });
  }
  // Children of a schema. Nested rows render lazily on expand; `anc` (the chain of
  // $refs being expanded) stops reference cycles.
  function body(s, anc) {
    var out = h('div', { class: 'nest' });
    if (!obj(s)) return out;
    if (typeof s.$ref === 'string') {
      if (anc.indexOf(s.$ref) >= 0) return add(out, [note('↻ circular reference to ' + refName(s.$ref))]);
      var t = ptr(s.$ref);
      if (!obj(t)) return add(out, [note('unresolved reference ' + s.$ref)]);
      return add(out, [desc(t.description), h('div', { class: 'tline' }, h('span', { class: 'ptype' }, typeNodes(t)), chips(t)),
        body(t, anc.concat(s.$ref))]);
    }
    var a = alts(s);
    if (a) {
      var nn = nonNull(a);
      if (nn.length === 1) add(out, [body(nn[0], anc)]);
      else a.forEach(function (v, i) { add(out, [row((s.anyOf ? 'anyOf' : 'oneOf') + ' [' + i + ']', v, false, anc, true)]); });
    }
    if (Array.isArray(s.allOf)) s.allOf.forEach(function (v, i) { add(out, [row('allOf [' + i + ']', v, false, anc, true)]); });
    var req = Array.isArray(s.required) ? s.required : [];
    keys(s.properties).forEach(function (k) { add(out, [row(k, s.properties[k], req.indexOf(k) >= 0, anc)]); });
    if (s.items !== undefined && complex(s.items)) add(out, [row('[items]', s.items, false, anc, true)]);
    if (obj(s.additionalProperties)) add(out, [row('{additional properties}', s.additionalProperties, false, anc, true)]);
    else if (s.additionalProperties === true) add(out, [note('additional properties allowed')]);
    else if (s.additionalProperties === false && keys(s.properties).length) add(out, [note('no additional properties')]);
    return out;
  }
  function schemaBlock(s) {
    return h('div', { class: 'schema' }, h('div', { class: 'tline' }, h('span', { class: 'ptype' }, typeNodes(s)), chips(s)), body(s, []));
  }
  // Example value for the "Try it" body.
  function sample(s, depth) {
    s = deref(s);
    if (depth > 5) return null;
    if (s.example !== undefined) return s.example;
    if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
    if (s.default !== undefined) return s.default;
    if ('const' in s) return s.const;
    if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
    if (alts(s)) return sample(nonNull(alts(s))[0] || {}, depth + 1);
    if (Array.isArray(s.allOf)) return s.allOf.reduce(function (o, x) { var v = sample(x, depth + 1); return obj(v) ? Object.assign(o, v) : o; }, {});
    var t = Array.isArray(s.type) ? s.type.filter(function (x) { return x !== 'null'; })[0] : s.type;
    if (!t) t = s.properties ? 'object' : s.items ? 'array' : 'string';
    if (t === 'object') {
      var o = {};
      keys(s.properties).forEach(function (k) { o[k] = sample(s.properties[k], depth + 1); });
      return o;
    }
    if (t === 'array') return s.items ? [sample(s.items, depth + 1)] : [];
    if (t === 'integer' || t === 'number') return s.minimum !== undefined ? s.minimum : 0;
    if (t === 'boolean') return false;
    if (t === 'null') return null;
    return s.format ? '<' + s.format + '>' : 'string';
  }

  // ---------- operations ----------
  function params(o) {
    var map = {};
    [].concat(o.item.parameters || [], o.op.parameters || []).forEach(function (p) {
      p = deref(p);
      if (p.name) map[p.in + ':' + p.name] = p;
    });
    return Object.keys(map).map(function (k) { return map[k]; });
  }
  function pSchema(p) {
    if (p.schema) return p.schema;
    var c = keys(p.content)[0];
    return c ? deref(p.content[c]).schema : undefined;
  }
  function paramTable(ps) {
    return h('table', { class: 'params' },
      h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'In'), h('th', null, 'Type'), h('th', null, 'Description'))),
      h('tbody', null, ps.map(function (p) {
        var s = pSchema(p);
        return h('tr', null,
          h('td', null, h('code', null, p.name), p.required ? h('span', { class: 'req', title: 'required' }, '*') : null),
          h('td', null, p.in),
          h('td', null, h('span', { class: 'ptype' }, typeNodes(s)), chips(s), main(s) !== s ? chips(main(s)) : null),
          h('td', null, p.deprecated ? h('span', { class: 'chip warn' }, 'deprecated') : null, desc(p.description || (obj(s) && s.description))));
      })));
  }
  function content(c) {
    return keys(c).map(function (mt) {
      var m = deref(c[mt]);
      var ex = m.example !== undefined ? m.example : keys(m.examples).length ? deref(m.examples[keys(m.examples)[0]]).value : undefined;
      return h('div', { class: 'media' }, h('div', { class: 'mt' }, mt),
        m.schema !== undefined ? schemaBlock(m.schema) : null,
        ex !== undefined ? h('pre', { class: 'example' }, JSON.stringify(ex, null, 2)) : null);
    });
  }
  function security(o) {
    return Array.isArray(o.op.security) ? o.op.security : Array.isArray(spec.security) ? spec.security : null;
  }
  function renderOp(o) {
    var op = o.op;
    return lazy(h('details', { class: 'op m-' + o.method, id: o.id },
      h('summary', null, h('span', { class: 'badge m-' + o.method }, o.method.toUpperCase()),
        h('code', { class: 'path' }, o.path), h('span', { class: 'osum' }, op.summary || ''),
        op.deprecated ? h('span', { class: 'chip warn' }, 'deprecated') : null)), function () {
      var ps = params(o), rb = deref(op.requestBody), sec = security(o);
      return h('div', { class: 'obody' },
        desc(op.description),
        op.operationId ? h('div', { class: 'meta' }, 'operationId: ', h('code', null, op.operationId)) : null,
        sec ? h('div', { class: 'meta' }, 'Security: ', sec.length ? sec.map(function (r) { return keys(r).join(' + ') || 'none'; }).join(' or ') : 'none') : null,
        ps.length ? [h('h4', null, 'Parameters'), paramTable(ps)] : null,
        op.requestBody ? [h('h4', null, 'Request body', rb.required ? h('span', { class: 'req', title: 'required' }, '*') : null),
          desc(rb.description), content(rb.content)] : null,
        h('h4', null, 'Responses'),
        keys(op.responses).length ? keys(op.responses).map(function (code) {
          var r = deref(op.responses[code]);
          return h('div', { class: 'resp' }, h('div', { class: 'rhead' },
            h('span', { class: 'code c' + String(code).charAt(0) }, code), desc(r.description)), content(r.content));
        }) : note('No responses documented.'),
        tryIt(o, ps));
    });
  }

  // ---------- "Try it" ----------
  function defaultBase() {
    var dir = new URL('.', SPEC_URL);                      // .../v1/
    var seg = dir.pathname.replace(/\/+$/, '').split('/').pop();
    var srv = Array.isArray(spec.servers) && spec.servers[0] && spec.servers[0].url;
    if (seg && keys(spec.paths).some(function (p) { return p.indexOf('/' + seg + '/') === 0; })) dir = new URL('..', dir);
    else if (typeof srv === 'string' && srv.indexOf('{') < 0) dir = new URL(srv, SPEC_URL);
    return dir.href.replace(/\/+$/, '');
  }
  function applyAuth(o, headers, qs) {
    var key = store('key'), schemes = (spec.components || {}).securitySchemes || {};
    if (!key) return;
    var sec = security(o), names = sec ? [].concat.apply([], sec.map(keys)) : keys(schemes).slice(0, 1);
    for (var i = 0; i < names.length; i++) {
      var s = deref(schemes[names[i]]);
      if (s.type === 'apiKey' && s.in === 'header' && s.name) { headers[s.name] = key; return; }
      if (s.type === 'apiKey' && s.in === 'query' && s.name) { qs.append(s.name, key); return; }
      if (s.type === 'http') { headers.Authorization = (String(s.scheme).toLowerCase() === 'basic' ? 'Basic ' : 'Bearer ') + key; return; }
      if (s.type === 'oauth2' || s.type === 'openIdConnect') { headers.Authorization = 'Bearer ' + key; return; }
    }
  }
  function tryIt(o, ps) {
    return lazy(h('details', { class: 'try' }, h('summary', null, 'Try it')), function () {
      var inputs = [], out = h('div', { class: 'tryout' }), form = h('form', { class: 'tryform' });
      ps.forEach(function (p) {
        if (p.in === 'cookie') return;
        var s = deref(pSchema(p)), inp = h('input', { type: 'text', placeholder: p.in + (p.required ? ', required' : '') });
        if (s.default !== undefined) inp.value = String(s.default);
        inputs.push([p, inp, s]);
        add(form, [h('label', null, h('span', null, p.name + (p.required ? ' *' : '') + ' (' + p.in + ')'), inp)]);
      });
      var rbc = deref(o.op.requestBody).content || {}, ta = null;
      var mt = rbc['application/json'] ? 'application/json' : keys(rbc)[0];
      if (mt && o.method !== 'get' && o.method !== 'head') {
        var m = deref(rbc[mt]), ex = m.example !== undefined ? m.example : sample(m.schema, 0);
        ta = h('textarea', { rows: 8, spellcheck: 'false' });
        ta.value = typeof ex === 'string' && mt.indexOf('json') < 0 ? ex : JSON.stringify(ex, null, 2);
        add(form, [h('label', null, h('span', null, 'Body (' + mt + ')'), ta)]);
      }
      add(form, [h('button', { type: 'submit' }, 'Send')]);
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        send(o, inputs, ta, mt, out);
      });
      return h('div', null, form, out);
    });
  }
  async function send(o, inputs, ta, mt, out) {
    out.textContent = '';
    var path = o.path, qs = new URLSearchParams(), headers = {}, missing = [];
    inputs.forEach(function (x) {
      var p = x[0], v = x[1].value, arr = x[2].type === 'array';
      if (v === '') { if (p.required) missing.push(p.name); return; }
      if (p.in === 'path') path = path.split('{' + p.name + '}').join(encodeURIComponent(v));
      else if (p.in === 'query') (arr ? v.split(',') : [v]).forEach(function (w) { qs.append(p.name, w.trim()); });
      else if (p.in === 'header') headers[p.name] = v;
    });
    if (missing.length) { add(out, [note('Missing required: ' + missing.join(', '))]); return; }
    applyAuth(o, headers, qs);
    var init = { method: o.method.toUpperCase(), headers: headers };
    if (ta && ta.value.trim()) { init.body = ta.value; headers['Content-Type'] = mt; }
    var url = (store('base') || defaultBase()).replace(/\/+$/, '') + path + (String(qs) ? '?' + qs : '');
    add(out, [h('div', { class: 'meta' }, init.method + ' ' + url)]);
    var t0 = Date.now();
    try {
      var res = await fetch(url, init), text = await res.text();
      try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
      add(out, [h('div', { class: 'rhead' }, h('span', { class: 'code c' + String(res.status).charAt(0) }, res.status),
        ' ' + res.statusText + ' · ' + (Date.now() - t0) + ' ms'), h('pre', { class: 'example' }, text || '(empty body)')]);
    } catch (err) {
      add(out, [h('div', { class: 'note err' }, 'Request failed: ' + (err && err.message || err))]);
    }
  }

  // ---------- page ----------
  function renderSecurity() {
    var ss = (spec.components || {}).securitySchemes;
    if (!keys(ss).length) return null;
    return h('section', { class: 'block', id: 'security' }, h('h2', null, 'Authentication'),
      h('table', { class: 'params' }, h('tbody', null, keys(ss).map(function (n) {
        var s = deref(ss[n]), d = [];
        if (s.type === 'apiKey') d.push('API key in ' + s.in + ': ', h('code', null, s.name || ''));
        if (s.type === 'http') d.push('HTTP ' + (s.scheme || '') + (s.bearerFormat ? ' (' + s.bearerFormat + ')' : ''));
        if (s.type === 'openIdConnect') d.push('OpenID Connect: ' + (s.openIdConnectUrl || ''));
        if (s.type === 'oauth2') d.push('OAuth 2 flows: ' + keys(s.flows).join(', '));
        return h('tr', null, h('td', null, h('code', null, n)), h('td', null, s.type || ''), h('td', null, d, desc(s.description)));
      }))));
  }
  function renderSchemas() {
    var ss = (spec.components || {}).schemas;
    if (!keys(ss).length) return null;
    return h('section', { class: 'block', id: 'schemas' }, h('h2', null, 'Schemas'), keys(ss).map(function (n) {
      var s = ss[n], ref = SCH + n.replace(/~/g, '~0').replace(/\//g, '~1');
      return lazy(h('details', { class: 'component', id: schemaId(n) },
        h('summary', null, h('span', { class: 'cname' }, n), h('span', { class: 'ptype' }, typeNodes(s)))), function () {
        return h('div', { class: 'obody' }, desc(obj(s) && s.description), h('div', { class: 'tline' }, chips(s)), body(s, [ref]));
      });
    }));
  }
  function render() {
    var info = obj(spec.info) ? spec.info : {}, ops = [], used = {}, groups = {}, order = [];
    keys(spec.paths).forEach(function (path) {
      var item = deref(spec.paths[path]);
      METHODS.forEach(function (m) {
        if (!obj(item[m])) return;
        var id = 'op-' + safeId(item[m].operationId || m + path);
        while (used[id]) id += '_';
        used[id] = 1;
        ops.push({ path: path, method: m, op: item[m], item: item, id: id });
      });
    });
    (Array.isArray(spec.tags) ? spec.tags : []).forEach(function (t) { if (obj(t) && t.name && !groups[t.name]) { groups[t.name] = []; order.push(t.name); } });
    ops.forEach(function (o) {
      var tags = Array.isArray(o.op.tags) && o.op.tags.length ? o.op.tags : ['default'];
      tags.forEach(function (t, i) {
        if (!groups[t]) { groups[t] = []; order.push(t); }
        groups[t].push({ o: o, primary: i === 0 });
      });
    });
    order = order.filter(function (t) { return groups[t].length; });
    var tagDesc = {};
    (Array.isArray(spec.tags) ? spec.tags : []).forEach(function (t) { if (obj(t)) tagDesc[t.name] = t.description; });

    document.title = (info.title || 'API') + ' – API documentation';
    var filter = h('input', { type: 'search', class: 'filter', placeholder: 'Filter operations…' });
    var nav = h('nav', { class: 'side' }, h('a', { href: '#top', class: 'navtitle', onclick: function (e) { e.preventDefault(); window.scrollTo(0, 0); } }, info.title || 'API'), filter,
      order.map(function (t) {
        return h('div', { class: 'navgroup' }, h('div', { class: 'navtag' }, t), groups[t].map(function (g) {
          var o = g.o;
          return h('a', { href: '#' + o.id, class: 'navop', 'data-text': (o.method + ' ' + o.path + ' ' + (o.op.summary || '')).toLowerCase(),
            onclick: function (e) { e.preventDefault(); jump(o.id); } },
          h('span', { class: 'badge m-' + o.method }, o.method.toUpperCase()), h('span', { class: 'navpath' }, o.path));
        }));
      }),
      keys((spec.components || {}).schemas).length ? h('a', { href: '#schemas', class: 'navtag navlink', onclick: function (e) { e.preventDefault(); jump('schemas'); } }, 'Schemas') : null);
    filter.addEventListener('input', function () {
      var q = filter.value.trim().toLowerCase();
      Array.prototype.forEach.call(nav.querySelectorAll('.navgroup'), function (g) {
        var any = false;
        Array.prototype.forEach.call(g.querySelectorAll('.navop'), function (a) {
          var hit = !q || a.getAttribute('data-text').indexOf(q) >= 0;
          a.hidden = !hit; any = any || hit;
        });
        g.hidden = !any;
      });
    });

    var keyIn = h('input', { type: 'password', autocomplete: 'off', placeholder: 'API key (kept in this tab only)' });
    keyIn.value = store('key');
    keyIn.addEventListener('input', function () { store('key', keyIn.value); });
    var baseIn = h('input', { type: 'text', placeholder: defaultBase() });
    baseIn.value = store('base');
    baseIn.addEventListener('input', function () { store('base', baseIn.value.trim()); });

    var mainEl = h('main', { class: 'content', id: 'top' },
      h('header', { class: 'block' },
        h('h1', null, info.title || 'API', ' ', h('span', { class: 'chip' }, 'v' + (info.version || '?')), ' ',
          h('span', { class: 'chip' }, 'OpenAPI ' + (spec.openapi || '?'))),
        desc(info.summary), desc(info.description),
        h('div', { class: 'meta' }, 'Spec: ', h('a', { href: SPEC_URL }, 'openapi.json')),
        h('div', { class: 'auth' }, h('label', null, h('span', null, 'API key'), keyIn), h('label', null, h('span', null, 'Base URL'), baseIn))),
      renderSecurity(),
      order.length ? order.map(function (t) {
        var prim = groups[t].filter(function (g) { return g.primary; });
        if (!prim.length) return null;
        return h('section', { class: 'block' }, h('h2', null, t), desc(tagDesc[t]), prim.map(function (g) { return renderOp(g.o); }));
      }) : h('section', { class: 'block' }, note('This API has no documented operations.')),
      renderSchemas());
    var app = document.getElementById('app');
    app.textContent = '';
    app.className = 'layout';
    add(app, [nav, mainEl]);
    if (location.hash.length > 1) {
      var id = decodeURIComponent(location.hash.slice(1));
      if (id !== 'top') jump(id);
    }
  }
  function fail(msg) {
    var app = document.getElementById('app');
    app.textContent = '';
    add(app, [h('p', { class: 'fatal' }, msg)]);
  }

  fetch(SPEC_URL, { headers: { Accept: 'application/json' } })
    .then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status + ' loading ' + SPEC_URL);
      return r.json();
    })
    .then(function (data) {
      spec = obj(data) ? data : {};
      try { render(); } catch (e) { fail('Could not render the API description: ' + e.message); if (window.console) console.error(e); }
    }, function (e) { fail('Could not load the API description: ' + e.message); });
})();
