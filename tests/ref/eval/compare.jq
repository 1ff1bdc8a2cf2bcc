# jq -n --slurpfile got OUT.json --slurpfile want EXPECTED.json -f compare.jq
# Prints one line per figure of EXPECTED that OUT lacks or gets wrong
# (numbers: |got - want| <= 1e-9), then "checked N".
$got[0] as $g | $want[0] as $w
| [ $w | paths(type != "object" and type != "array") ] as $ps
| ( $ps[] as $p
    | ($w | getpath($p)) as $e
    | ($g | getpath($p[:-1])) as $parent
    | (if ($parent | type) == "object" then ($parent | has($p[-1]))
       elif ($parent | type) == "array" then ($p[-1] < ($parent | length))
       else false end) as $present
    | ($g | getpath($p)) as $a
    | if ($present | not) then "missing \($p | map(tostring) | join("."))"
      elif ($e | type) == "number" then
        (if ($a | type) == "number" and ((($a - $e) | fabs) <= 1e-9) then empty
         else "differs \($p | map(tostring) | join(".")): got \($a) want \($e)" end)
      elif $a == $e then empty
      else "differs \($p | map(tostring) | join(".")): got \($a) want \($e)" end ),
  "checked \($ps | length)"
