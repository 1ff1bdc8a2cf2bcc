#!/bin/sh
# mkdoc.sh: print the Markdown tables of docs/FAULTS.md's catalogue
# section from tests/faults/cases.tsv: one table per group (the comment
# line before it), one row per case: id, the input or fault, the exit
# status, the message (the extended regex standard error is matched
# against; '-' for none: standard error must be empty) and the test that
# checks it (catalogue.bats: ID). tests/faults/check_doc.sh compares this
# output with the section; regenerate it with
#   sh tests/faults/mkdoc.sh  (and paste between the catalogue markers)
R=$(cd "$(dirname "$0")/../.." && pwd)
awk -F'\t' '
function md(s) { gsub(/\|/, "\\|", s); return s }
/^# / { if (n) print ""; print "### " substr($0, 3); print ""
	print "| Case | Input or fault | Exit | Message (stderr regex) | Test |"
	print "|---|---|---|---|---|"; n++; next }
/^#/ || NF == 0 { next }
{ msg = $5 == "-" ? "(nothing)" : "`" md($5) "`"
  printf "| `%s` | %s | %s | %s | catalogue.bats: %s |\n", $1, md($2), $4, msg, $1 }
' "$R/tests/faults/cases.tsv"
