{
  // Greedy word wrap of a one-line string into lines of at most width
  // characters (a longer word gets a line of its own).
  wrap(s, width)::
    local step(acc, w) =
      if acc.line == '' then acc { line: w }
      else if std.length(acc.line) + 1 + std.length(w) > width then acc { lines+: [acc.line], line: w }
      else acc { line: acc.line + ' ' + w };
    local r = std.foldl(step, std.split(s, ' '), { lines: [], line: '' });
    r.lines + [r.line],
}
