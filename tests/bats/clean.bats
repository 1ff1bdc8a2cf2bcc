#!/usr/bin/env bats
# tl-clean: formats, cleaning options, bad input, exit codes, pipes.
load helpers

D="$TL_SHARED/data"
T() { printf '%s' "$BATS_TEST_TMPDIR/$1"; }
# records (header hidden) as JSON lines
show() { tl-cat; }

@test "tl-clean: --help and --version" {
	run tl-clean --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: tl-clean"* ]]
	[[ "$output" == *"--stopwords"* ]]
	run tl-clean --version
	[ "$status" -eq 0 ]
	[[ "$output" == "tl-clean (tl) "* ]]
}

@test "tl-clean: usage errors exit 2" {
	run tl-clean --bogus
	[ "$status" -eq 2 ]
	run tl-clean --format xml
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown format 'xml'"* ]]
	run tl-clean --urls maybe
	[ "$status" -eq 2 ]
	run tl-clean --keep vowels
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown character class 'vowels'"* ]]
	run tl-clean a b
	[ "$status" -eq 2 ]
}

@test "tl-clean: plain lines with the default cleaning, ids are record numbers (blank lines not counted)" {
	printf 'Great film.<br /><br />The  end\n\n  Tom &amp; Jerry\t&lt;3 \r\nlast line without newline' >"$(T in.txt)"
	run sh -c "tl-clean < '$(T in.txt)' | tl-cat"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = '{"id":1,"text":"Great film. The end"}' ]
	[ "${lines[1]}" = '{"id":2,"text":"Tom & Jerry <3"}' ]
	[ "${lines[2]}" = '{"id":3,"text":"last line without newline"}' ]
}

@test "tl-clean: the first record is a header with the options" {
	run sh -c "echo hi | tl-clean --lower --stopwords en | tl-cat -H"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == '{"tl":1,"kind":"header","chain":[{"tool":"tl-clean","version":'*'"args":["--lower","--stopwords","en"]}],"clean":{"format":"lines",'*'"case":"lower",'*'"stopwords":"en",'* ]]
	[ "${lines[1]}" = '{"id":1,"text":"hi"}' ]
}

@test "tl-clean: empty input gives just a header, exit 0" {
	run sh -c ': | tl-clean | tl-cat -H'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == '{"tl":1,"kind":"header"'* ]]
	run sh -c ': | tl-clean -f stream | tl-cat -H'
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "tl-clean: --raw only repairs UTF-8" {
	printf '  <b>x</b>  &amp;\x01 \xff \n' >"$(T in.txt)"
	run sh -c "tl-clean --raw < '$(T in.txt)' 2>/dev/null | tl-cat"
	[ "$output" = '{"id":1,"text":"  <b>x</b>  &amp;\u0001 � "}' ]
}

@test "tl-clean: every cleaning switch" {
	printf 'Visit HTTPS://Example.com/x, mail Jo@Example.org! ＡＢＣ Straße\n' >"$(T in.txt)"
	run sh -c "tl-clean --urls replace --emails remove --nfkc --lower < '$(T in.txt)' | tl-cat"
	[ "$output" = '{"id":1,"text":"visit <url> , mail ! abc straße"}' ]
	run sh -c "tl-clean --urls replace=URL --casefold < '$(T in.txt)' | tl-cat"
	[ "$output" = '{"id":1,"text":"visit URL , mail jo@example.org! ａｂｃ strasse"}' ]
	run sh -c "tl-clean --keep letters --lower --stopwords en < '$(T in.txt)' | tl-cat"
	[ "$output" = '{"id":1,"text":"visit https example com x mail jo example org ａｂｃ straße"}' ]
	run sh -c "printf 'a<br/>b  c\n' | tl-clean --no-html --no-space | tl-cat"
	[ "$output" = '{"id":1,"text":"a<br/>b  c"}' ]
}

@test "tl-clean: R5 Chinese recipe: keep CJK U+4E00-U+9FA5, stop words by longest match" {
	printf '我们的酒店服务很好，但是房间不大 ABC 123\n' >"$(T zh.txt)"
	run sh -c "tl-clean --keep U+4E00-U+9FA5 < '$(T zh.txt)' | tl-cat"
	[ "$output" = '{"id":1,"text":"我们的酒店服务很好 但是房间不大"}' ]
	run sh -c "tl-clean --keep U+4E00-U+9FA5 --stopwords zh < '$(T zh.txt)' | tl-cat"
	[ "$output" = '{"id":1,"text":"酒店服务很好 房间不大"}' ]
	run sh -c "printf '我们 的 酒店 的确 很 好\n' | tl-clean --stopwords zh --zh-segmented | tl-cat"
	[ "$output" = '{"id":1,"text":"酒店 的确 很 好"}' ]
}

@test "tl-clean: --stopwords FILE, repeatable, and a missing file" {
	printf '# mine\nmovie\n' >"$(T stop.txt)"
	run sh -c "echo 'The movie was fine' | tl-clean --stopwords en,zh --stopwords '$(T stop.txt)' | tl-cat"
	[ "$output" = '{"id":1,"text":"fine"}' ]
	run tl-clean --stopwords /nonexistent/list.txt
	[ "$status" -eq 4 ]
	[[ "$output" == "tl-clean: cannot open stop-word file /nonexistent/list.txt"* ]]
}

@test "tl-clean: invalid UTF-8 is repaired with a count, or an error under --strict" {
	printf 'a\xffb\nok\n\xc3\n' >"$(T bad.txt)"
	run sh -c "tl-clean < '$(T bad.txt)' 2>'$(T err)' | tl-cat"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '{"id":1,"text":"a�b"}' ]
	[ "${lines[2]}" = '{"id":3,"text":"�"}' ]
	[ "$(cat "$(T err)")" = "tl-clean: repaired 2 invalid UTF-8 sequences in 2 records" ]
	run tl-clean --strict "$(T bad.txt)"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-clean: record 1: invalid UTF-8 in text (--strict)" ]
}

@test "tl-clean: fastText input, one or several labels" {
	printf '__label__pos great film\n__label__a __label__b two labels\nno label here\n' >"$(T ft.txt)"
	run sh -c "tl-clean < '$(T ft.txt)' | tl-cat"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '{"id":1,"text":"great film","label":"pos"}' ]
	[ "${lines[1]}" = '{"id":2,"text":"two labels","label":["a","b"]}' ]
	[ "${lines[2]}" = '{"id":3,"text":"no label here"}' ]
}

@test "tl-clean: JSON lines: keys passed through, --text/--label rename" {
	printf '{"review":"A &amp; B","stars":5,"domain":"books","id":"r1"}\n\n{"review":"C","stars":1,"domain":"dvd"}\n' >"$(T in.jsonl)"
	run sh -c "tl-clean --text review --label stars < '$(T in.jsonl)' | tl-cat"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '{"domain":"books","id":"r1","text":"A & B","label":"5"}' ]
	[ "${lines[1]}" = '{"domain":"dvd","id":2,"text":"C","label":"1"}' ]
}

@test "tl-clean: JSON lines: bad lines" {
	run sh -c 'printf "{\"text\":\"a\"}\n[1,2]\n" | tl-clean'
	[ "$status" -eq 3 ]
	[ "$output" = "tl-clean: record 2: not a JSON object: each line must be one object" ]
	run sh -c 'printf "{\"text\":\"a\"}\n{oops\n" | tl-clean'
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-clean: record 2: invalid JSON"* ]]
	run sh -c 'printf "{\"body\":\"a\",\"x\":1}\n" | tl-clean'
	[ "$status" -eq 3 ]
	[ "$output" = 'tl-clean: record 1: no key "text" (keys: body, x); choose one with --text' ]
	run sh -c 'printf "{\"text\":7}\n" | tl-clean'
	[ "$status" -eq 3 ]
	[ "$output" = 'tl-clean: record 1: "text" is integer, not a string' ]
	run sh -c 'printf "{\"text\":\"a\",\"label\":{\"x\":1}}\n" | tl-clean'
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-clean: record 1: label is map"* ]]
}

@test "tl-clean: stream input: header extended, keys kept, text re-cleaned" {
	printf '{"tl":1,"kind":"header","chain":[{"tool":"x"}],"note":"n"}\n{"id":"a","text":"x <br/> y","split":"dev"}\n' | tl-cat >"$(T s)"
	run sh -c "tl-clean --lower < '$(T s)' | tl-cat -H"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == '{"note":"n","tl":1,"kind":"header","chain":[{"tool":"x"},{"tool":"tl-clean",'*'"format":"stream"'* ]]
	[ "${lines[1]}" = '{"id":"a","split":"dev","text":"x y"}' ]
	# a stream without header gets a fresh one; id from the position
	printf '{"text":"A"}\n' | tl-cat >"$(T s2)"
	run sh -c "tl-clean --lower '$(T s2)' | tl-cat -H"
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[1]}" = '{"id":1,"text":"a"}' ]
}

@test "tl-clean: stream input: a record that is not a map, a truncated record" {
	run sh -c 'printf "\201\244text\241a\223\001\002\003" | tl-clean'
	[ "$status" -eq 3 ]
	[ "$output" = "tl-clean: record 2: not a map but array: a stream is one msgpack map per record" ]
	expect_bad_stream tl-clean -f stream
}

@test "tl-clean: TSV with a header: columns by name and number, extra columns kept" {
	printf 'qid\tlabel\ttext_a\tsource\n7\t1\tgood  one\tweb\n8\t0\tbad\tnews\n' >"$(T in.tsv)"
	run sh -c "tl-clean < '$(T in.tsv)' | tl-cat"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '{"id":"7","text":"good one","label":"1","source":"web"}' ]
	run sh -c "tl-clean --text 3 --label label --id 4 --no-extra < '$(T in.tsv)' | tl-cat"
	[ "${lines[1]}" = '{"id":"news","text":"bad","label":"0"}' ]
	run sh -c "tl-clean --no-header --text 3 --label 2 --no-extra < '$(T in.tsv)' | tl-cat"
	[ "${lines[0]}" = '{"id":1,"text":"text_a","label":"label"}' ]
}

@test "tl-clean: TSV: a missing --text column lists the available columns" {
	run tl-clean --text review "$D/sst2/dev.tsv"
	[ "$status" -eq 2 ]
	[ "$output" = "tl-clean: option --text: no column 'review' (columns: sentence, label)" ]
	run sh -c "printf 'a\tb\nc\n' | tl-clean --header --text 2"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-clean: record 1: line 2: 1 field, but the text is column 2" ]
	run sh -c "printf 'x\ty\n' | tl-clean --no-header --text name"
	[ "$status" -eq 2 ]
}

@test "tl-clean: TSV pairs with --text-b" {
	printf 'sentence1\tsentence2\tlabel\nA man.\tA person.\tentailment\n' >"$(T p.tsv)"
	run sh -c "tl-clean < '$(T p.tsv)' | tl-cat"
	[ "$output" = '{"id":1,"text":"A man.","text_b":"A person.","label":"entailment"}' ]
}

@test "tl-clean: CSV, RFC 4180: quotes, embedded newlines, CRLF, no header" {
	printf '"1","Title, one","Line one\r\nline ""two"""\r\n"2","T2","d2"\r\n' >"$(T in.csv)"
	run sh -c "tl-clean -f csv --text 3 --label 1 --text-b 2 < '$(T in.csv)' | tl-cat"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '{"id":1,"text":"Line one line \"two\"","text_b":"Title, one","label":"1"}' ]
	[ "${lines[1]}" = '{"id":2,"text":"d2","text_b":"T2","label":"2"}' ]
}

@test "tl-clean: CSV with an unterminated quote names the record and line, exit 3" {
	printf 'text,label\nfine,1\n"broken,0\nmore,1\n' >"$(T bad.csv)"
	run tl-clean "$(T bad.csv)"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-clean: record 2: line 3: unterminated quoted field (the quote opened there is never closed)" ]
}

@test "tl-clean: gzip input is read transparently" {
	printf 'sentence\tlabel\nhello <br /> there\t1\n' | gzip >"$(T in.tsv.gz)"
	run sh -c "tl-clean '$(T in.tsv.gz)' | tl-cat"
	[ "$output" = '{"id":1,"text":"hello there","label":"1"}' ]
	run sh -c "tl-clean < '$(T in.tsv.gz)' | tl-cat"
	[ "$output" = '{"id":1,"text":"hello there","label":"1"}' ]
	printf 'garbage' >"$(T bad.gz)"
	printf '\037\213\010\000\000\000\000\000\000\003garbagegarbage' >"$(T bad.gz)"
	run tl-clean "$(T bad.gz)"
	[ "$status" -eq 4 ]
	[[ "$output" == "tl-clean: "*"read error"* ]]
}

@test "tl-clean: an unreadable file is an I/O error" {
	run tl-clean /nonexistent/file.txt
	[ "$status" -eq 4 ]
	[[ "$output" == "tl-clean: cannot open /nonexistent/file.txt: No such file or directory" ]]
}

@test "tl-clean: a 10 MB single line, and --max-record" {
	head -c 10000000 /dev/zero | tr '\0' 'a' >"$(T big.txt)"
	echo >>"$(T big.txt)"
	run sh -c "tl-clean '$(T big.txt)' | tl-cat | wc -c"
	[ "$status" -eq 0 ]
	[ "$output" -eq 10000019 ] # {"id":1,"text":"aaa..."} + newline
	run tl-clean --max-record 1M "$(T big.txt)"
	[ "$status" -eq 3 ]
	[ "$output" = "tl-clean: record 1: line 1: record longer than 1048576 bytes (see --max-record)" ]
}

@test "tl-clean: a closed pipe ends quietly with status 0" {
	run bash -c 'set -o pipefail; yes "some <br /> text &amp; more" | head -c 50000000 | tl-clean | head -c 10 >/dev/null; echo "${PIPESTATUS[2]}"'
	[ "${lines[-1]}" = "0" ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "tl-clean: --drop-empty" {
	run sh -c "printf 'the\nmovie\n' | tl-clean --stopwords en | tl-cat"
	[ "${lines[0]}" = '{"id":1,"text":""}' ]
	run sh -c "printf 'the\nmovie\n' | tl-clean --stopwords en --drop-empty | tl-cat"
	[ "$output" = '{"id":2,"text":"movie"}' ]
}

# ---- real data ----

@test "tl-clean: SST-2 dev detected as TSV with header sentence/label" {
	[ -f "$D/sst2/dev.tsv" ] || skip "no SST-2 data"
	run sh -c "tl-clean < '$D/sst2/dev.tsv' | tl-cat"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 872 ]
	[ "${lines[0]}" = '{"id":1,"text":"it '"'"'s a charming and often affecting journey .","label":"1"}' ]
	run sh -c "tl-clean --format tsv --text sentence --label label < '$D/sst2/dev.tsv' | tl-cat | tail -1"
	[[ "$output" == '{"id":872,"text":'*'"label":"1"}' ]]
	# test.tsv: index -> id, no label
	run sh -c "tl-clean '$D/sst2/test.tsv' | tl-cat | head -1"
	[ "$output" = '{"id":"0","text":"uneasy mishmash of styles and genres ."}' ]
}

@test "tl-clean: IMDB gzip TSV: 25,000 reviews, <br /> gone, rating kept" {
	[ -f "$D/imdb/test.tsv.gz" ] || skip "no IMDB data"
	tl-clean "$D/imdb/test.tsv.gz" | tl-cat >"$(T imdb.jsonl)"
	[ "$(wc -l <"$(T imdb.jsonl)")" -eq 25000 ]
	! grep -q '<br' "$(T imdb.jsonl)"
	! grep -q '&quot;' "$(T imdb.jsonl)"
	run head -1 "$(T imdb.jsonl)"
	[[ "$output" == '{"id":"0","text":"I went and saw this movie last night'*'"label":"1","rating":"10"}' ]]
	[ "$(grep -c '"label":"0"' "$(T imdb.jsonl)")" -eq 12500 ]
}

@test "tl-clean: ChnSentiCorp dev: qid, label, text_a" {
	[ -f "$D/chnsenticorp/dev.tsv" ] || skip "no ChnSentiCorp data"
	run sh -c "tl-clean '$D/chnsenticorp/dev.tsv' | tl-cat"
	[ "${#lines[@]}" -eq 1200 ]
	[[ "${lines[1]}" == '{"id":"1","text":"<荐书> 推荐所有喜欢<红楼>的红迷们'* ]]
	run sh -c "tl-clean --keep U+4E00-U+9FA5 '$D/chnsenticorp/dev.tsv' | tl-cat | head -2 | tail -1"
	[[ "$output" == '{"id":"1","text":"荐书 推荐所有喜欢 红楼 的红迷们'* ]]
}

@test "tl-clean: AG News CSV without header: columns guessed and reported" {
	[ -f "$D/ag_news/test.csv" ] || skip "no AG News data"
	run sh -c "tl-clean '$D/ag_news/test.csv' 2>'$(T err)' | tl-cat | wc -l"
	[ "$output" -eq 7600 ]
	[ "$(cat "$(T err)")" = "tl-clean: no header row: guessed columns text=3, label=1 (choose with --text, --label)" ]
	run sh -c "tl-clean --text 2 --text-b 3 --label 1 '$D/ag_news/test.csv' | tl-cat | head -1"
	[ "$output" = '{"id":1,"text":"Fears for T N pension after talks","text_b":"Unions representing workers at Turner Newall say they are '"'"'disappointed'"'"' after talks with stricken parent firm Federal Mogul.","label":"3"}' ]
}

@test "tl-clean: Amazon reviews: CSV quoting with embedded newlines inside a .tsv" {
	[ -f "$D/amazon_multidomain/books/train.tsv" ] || skip "no Amazon data"
	for dom in books dvd electronics kitchen; do
		n=$(tl-clean "$D/amazon_multidomain/$dom/train.tsv" | tl-cat | wc -l)
		[ "$n" -eq 1700 ]
	done
	# the same texts as the flattened copy (one review per line)
	tl-clean "$D/amazon_multidomain/books/train.tsv" | tl-cat -t tsv -f text,label --no-names >"$(T a)"
	tl-clean "$D/amazon_multidomain/books/train.flat.tsv" | tl-cat -t tsv -f text,label --no-names >"$(T b)"
	cmp "$(T a)" "$(T b)"
}

@test "tl-clean: the man page's EXAMPLES on the real data run" {
	[ -f "$D/sst2/dev.tsv" ] || skip "no data"
	# commands in .Bd blocks that use ../shared/data, continuation lines joined
	awk '/^\.Bd/ {inb=1; next} /^\.Ed/ {inb=0; next}
	     inb { sub(/^ +/, ""); if (sub(/ \\e$/, " ")) { acc = acc $0; next } print acc $0; acc = "" }' \
		"$TL_ROOT/man/tl-clean.1" | grep '^tl-clean.*\.\./shared/data' >"$(T ex)"
	[ "$(wc -l <"$(T ex)")" -ge 5 ]
	cd "$BATS_TEST_TMPDIR"
	while IFS= read -r cmd; do
		cmd=$(printf '%s' "$cmd" | sed "s|\.\./shared|$TL_SHARED|g")
		run bash -c "$cmd >/dev/null; exit \${PIPESTATUS[0]}"
		echo "$cmd -> $status"
		[ "$status" -eq 0 ]
	done <"$(T ex)"
}

@test "tl-clean: --stopwords zh keeps negations, degree adverbs and evaluative words" {
	run sh -c "printf '酒店一般，不如上次那家\n' | tl-clean --keep U+4E00-U+9FA5 --stopwords zh | tl-cat"
	[ "$status" -eq 0 ]
	[ "$output" = '{"id":1,"text":"酒店一般 不如上次 家"}' ]
	run sh -c "printf '房间 不 大 ， 非常 差 ， 没有 上次 好 ， 还 可以 ， 都 很 一般\n' | tl-clean --stopwords zh --zh-segmented | tl-cat"
	[ "$status" -eq 0 ]
	[ "$output" = '{"id":1,"text":"房间 不 大 ， 非常 差 ， 没有 上次 好 ， 还 可以 ， 都 很 一般"}' ]
}
