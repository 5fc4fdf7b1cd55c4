// examples/prometheus/rules.yml: the mixin's recording rules and alerts in
// one file, as YAML with comments (a rule's hidden `comments` field, such as
// its pint disable comments, becomes YAML comments above it, outside expr).
//
//   jsonnet -S -J webex-mixin webex-mixin/rules.jsonnet > examples/prometheus/rules.yml
local text = import 'lib/text.libsonnet';
local mixin = import 'mixin.libsonnet';

local width = 96;

local wrap(s) = text.wrap(s, width);

local indentLines(lines, ind) = std.join('\n', [if l == '' then '' else ind + l for l in lines]);

// A scalar YAML reads as this very string without quotes.
local plain(s) =
  local letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  local chars = std.stringChars(s);
  s != '' && std.all([std.member(letters + '0123456789_:.-/#', ch) for ch in chars])
  && std.any([std.member(letters, ch) for ch in chars])  // not a number
  && !std.member('-:.#', chars[0]) && !std.endsWith(s, ':')
  && !std.member(['true', 'false', 'yes', 'no', 'on', 'off', 'null', 'y', 'n'], std.asciiLower(s));

// A string value at indentation ind: a literal block when it has lines, a
// folded block when long, else a JSON-quoted scalar (valid YAML).
local str(s, ind) =
  if std.length(std.findSubstr('\n', s)) > 0 then
    local body = if std.endsWith(s, '\n') then std.substr(s, 0, std.length(s) - 1) else s;
    (if std.endsWith(s, '\n') then '|' else '|-') + '\n' + indentLines(std.split(body, '\n'), ind)
  else if std.length(s) > width && std.length(std.findSubstr(' ', s)) > 0 then
    assert std.length(std.findSubstr('  ', s)) == 0 : 'a folded string must not hold two spaces in a row: ' + s;
    '>-\n' + indentLines(wrap(s), ind)
  else if plain(s) then s
  else if std.length(std.findSubstr("'", s)) == 0 then "'" + s + "'"
  else std.escapeStringJson(s);

local order = ['record', 'alert', 'expr', 'for', 'labels', 'annotations'];

// Annotations in the order one reads them, then any other key.
local keyOrder(o) =
  local first = [k for k in ['summary', 'description', 'runbook_url'] if std.objectHas(o, k)];
  first + std.setDiff(std.objectFields(o), std.set(first));

// One rule as a list item at indentation ind.
local rule(r, ind) =
  local comments = [ind + '# ' + l for l in std.get(r, 'comments', [], inc_hidden=true)];
  local fields = [
    if std.isObject(r[k]) then
      k + ':\n' + std.join('\n', [ind + '    ' + kk + ': ' + str(r[k][kk], ind + '      ') for kk in keyOrder(r[k])])
    else k + ': ' + str(r[k], ind + '    ')
    for k in order
    if std.objectHas(r, k)
  ];
  assert std.setDiff(std.objectFields(r), std.set(order)) == [] : 'unknown rule field in ' + std.manifestJson(r);
  std.join('\n', comments + [ind + '- ' + fields[0]] + [ind + '  ' + f for f in fields[1:]]);

local group(g) =
  '  - name: ' + g.name + '\n    rules:\n' + std.join('\n\n', [rule(r, '      ') for r in g.rules]);

|||
  # Recording rules and alerts for webex_exporter.
  #
  # GENERATED from webex-mixin/ (rules.jsonnet): do not edit. Change
  # webex-mixin/config.libsonnet (the job selector, the watched rooms) or the
  # rules there, then run scripts/ci/lint-rules.sh, which regenerates this file.
  #
  #   promtool check rules examples/prometheus/rules.yml
  #   promtool test rules examples/prometheus/rules_test.yml
  #
  # Every rule keeps the job and instance labels, so one Prometheus can scrape
  # several exporters (for example one per Webex account) without mixing them.
  groups:
||| + std.join('\n\n', [group(g) for g in mixin.prometheusRules.groups + mixin.prometheusAlerts.groups]) + '\n'
