{
  // Greedy word wrap of a one-line string into lines of at most width
  // characters (a longer word gets a line of its own). A template action,
  // {{ ... }}, is one word: no line breaks inside it.
  wrap(s, width)::
    local joinActions(acc, w) =
      if acc.open then acc { words: acc.words[:std.length(acc.words) - 1] + [acc.words[std.length(acc.words) - 1] + ' ' + w], open: !std.endsWith(w, '}}') && std.length(std.findSubstr('}}', w)) == 0 }
      else acc { words+: [w], open: std.length(std.findSubstr('{{', w)) > std.length(std.findSubstr('}}', w)) };
    local words = std.foldl(joinActions, std.split(s, ' '), { words: [], open: false }).words;
    local step(acc, w) =
      if acc.line == '' then acc { line: w }
      else if std.length(acc.line) + 1 + std.length(w) > width then acc { lines+: [acc.line], line: w }
      else acc { line: acc.line + ' ' + w };
    local r = std.foldl(step, words, { lines: [], line: '' });
    r.lines + [r.line],
}
