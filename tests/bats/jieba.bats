#!/usr/bin/env bats
# tl-clean --segment jieba: jieba 0.42.1's segmentation in the pipeline.
# The expected words are jieba's own (python3 -c 'import jieba; ...'); the
# word-for-word parity on 244 cases x 4 modes is tests/unit/test_jieba.c,
# on all of ChnSentiCorp tests/ref/jieba_ref.py compare.
load helpers

setup() {
	[ -f "$TL_ROOT/models/jieba/dict.txt" ] || skip "jieba's dictionary is not installed (make jieba)"
	T=$BATS_TEST_TMPDIR
}

seg() { printf '%s\n' "$2" | tl-clean --segment "$1" "${@:3}" | tl-cat | sed 's/^{"id":[0-9]*,"text":"\(.*\)"}$/\1/'; }

@test "jieba: default mode is jieba.cut (dictionary route + HMM for unknown words)" {
	[ "$(seg jieba 我来到北京清华大学)" = "我 来到 北京 清华大学" ]
	[ "$(seg jieba 他来到了网易杭研大厦)" = "他 来到 了 网易 杭研 大厦" ]
	[ "$(seg jieba:default 他来到了网易杭研大厦)" = "他 来到 了 网易 杭研 大厦" ]
}

@test "jieba: full, search and HMM-off modes" {
	[ "$(seg jieba:full 我来到北京清华大学)" = "我 来到 北京 清华 清华大学 华大 大学" ]
	[ "$(seg jieba:search 我来到北京清华大学)" = "我 来到 北京 清华 华大 大学 清华大学" ]
	[ "$(seg jieba:nohmm 他来到了网易杭研大厦)" = "他 来到 了 网易 杭 研 大厦" ]
}

@test "jieba: traditional Chinese, mixed zh/en/digits/emoji, full-width punctuation" {
	[ "$(seg jieba 這間酒店環境和服務態度亦算不錯)" = "這間 酒店 環境 和服 務態度 亦 算 不錯" ]
	[ "$(seg jieba '我用iPhone 12拍了3.5%的照片😀，GPU跑得飞快')" = "我用 iPhone 12 拍 了 3.5% 的 照片 😀 ， GPU 跑 得 飞快" ]
	[ "$(seg jieba '（全角）“引号”、顿号；分号')" = "（ 全角 ） “ 引号 ” 、 顿号 ； 分 号" ]
}

@test "jieba: stop words match whole words after segmentation; header records it" {
	[ "$(seg jieba 我的确很喜欢这家酒店的服务)" = "我 的确 很 喜欢 这家 酒店 的 服务" ]
	out=$(seg jieba 我的确很喜欢这家酒店的服务 --stopwords zh)
	[[ " $out " == *" 的确 "* ]]     # not cut by the stop word 的
	[[ " $out " != *" 的 "* ]]
	[[ " $out " != *" 我 "* ]]
	run sh -c "echo 清华大学 | tl-clean --segment jieba:search --stopwords zh | tl-cat -H | head -1"
	[[ "$output" == *'"zh_segmented":true'*'"segment":"jieba:search"'* ]]
}

@test "jieba: words feed tl-tokenize --mode word --no-chinese-chars" {
	printf '我来到北京清华大学\n清华大学很好\n' | tl-clean --segment jieba >"$T/s"
	tl-tokenize --mode word --no-chinese-chars --build-vocab "$T/v.txt" <"$T/s"
	grep -qx 清华大学 "$T/v.txt"
	grep -qx 来到 "$T/v.txt"
	! grep -qx 清 "$T/v.txt"
}

@test "jieba: user dictionary (word [freq] [tag]; freq 0 forces a word apart); empty file changes nothing" {
	printf '杭研大厦 10\n网易杭研 0\n' >"$T/ud.txt"
	[ "$(seg jieba 他来到了网易杭研大厦 --user-dict "$T/ud.txt")" = "他 来到 了 网易 杭研大厦" ]
	: >"$T/empty.txt"
	[ "$(seg jieba 他来到了网易杭研大厦 --user-dict "$T/empty.txt")" = "他 来到 了 网易 杭研 大厦" ]
	run sh -c "echo x | tl-clean --user-dict '$T/ud.txt'"
	[ "$status" -eq 2 ]
	[[ "$output" == "tl-clean: option --user-dict needs --segment jieba" ]]
	run sh -c "echo x | tl-clean --segment jieba:fast"
	[ "$status" -eq 2 ]
	[[ "$output" == "tl-clean: option --segment: unknown segmenter 'jieba:fast'"* ]]
}

@test "jieba: a malformed user dictionary is exit 3 naming file:line; a missing one exit 4" {
	printf '好词 5\n坏\377词 3\n' >"$T/bad.txt"
	run sh -c "echo x | tl-clean --segment jieba --user-dict '$T/bad.txt'"
	[ "$status" -eq 3 ]
	[[ "$output" == "tl-clean: --user-dict: $T/bad.txt:2: not UTF-8"* ]]
	printf '大数 99999999999999999999999\n' >"$T/big.txt"
	run sh -c "echo x | tl-clean --segment jieba --user-dict '$T/big.txt'"
	[ "$status" -eq 3 ]
	[[ "$output" == *"big.txt:1: frequency 99999999999999999999999 too large"* ]]
	run sh -c "echo x | tl-clean --segment jieba --user-dict '$T/none.txt'"
	[ "$status" -eq 4 ]
}

@test "jieba: invalid UTF-8 is repaired first (U+FFFD is a word of its own); --strict refuses it" {
	run sh -c "printf '\377\376坏字节\n' | tl-clean --segment jieba | tl-cat"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"text":"� � 坏 字节"'* ]]
	[[ "$output" == *"repaired 2 invalid UTF-8 sequences"* ]]
	run sh -c "printf '\377坏\n' | tl-clean --segment jieba --strict >/dev/null"
	[ "$status" -eq 3 ]
}

@test "jieba: missing or broken dictionary files are exit 5 with a 'make jieba' hint" {
	mkdir -p "$T/m/jieba"
	cp "$TL_ROOT"/models/jieba/prob_*.py "$T/m/jieba/"
	: >"$T/m/jieba/dict.txt"
	run sh -c "echo x | TL_MODEL_PATH='$T/m' tl-clean --segment jieba"
	[ "$status" -eq 5 ]
	[[ "$output" == "tl-clean: --segment jieba: $T/m/jieba/dict.txt: empty dictionary (run 'make jieba'"* ]]
	printf '北京 5\n大学\n' >"$T/m/jieba/dict.txt"
	run sh -c "echo x | TL_MODEL_PATH='$T/m' tl-clean --segment jieba"
	[ "$status" -eq 5 ]
	[[ "$output" == *"dict.txt:2: invalid dictionary entry"* ]]
	rm "$T/m/jieba/prob_emit.py"
	run sh -c "echo x | TL_MODEL_PATH='$T/m' tl-clean --segment jieba"
	[ "$status" -eq 5 ]
	[[ "$output" == *"prob_emit.py: No such file or directory; run 'make jieba'"* ]]
	# no dictionary anywhere: a copy of the tool outside the tree, no data directory
	cp "$TL_BIN/tl-clean" "$T/tl-clean"
	run sh -c "cd '$T' && echo x | HOME=/nonexistent XDG_DATA_HOME= TL_MODEL_PATH= ./tl-clean --segment jieba"
	[ "$status" -eq 5 ]
	[[ "$output" == "tl-clean: --segment jieba: jieba dictionary not found"*"run 'make jieba'"* ]]
}

@test "jieba: the compiled cache is reused and rebuilt when dict.txt changes" {
	mkdir -p "$T/m/jieba"
	cp "$TL_ROOT"/models/jieba/prob_*.py "$T/m/jieba/"
	printf '北京 5 ns\n大学 3 n\n北京大学 1 nt\n' >"$T/m/jieba/dict.txt"
	[ "$(TL_MODEL_PATH="$T/m" seg jieba 北京大学)" = "北京 大学" ]
	[ -s "$T/m/jieba/jieba.cache" ]
	[ "$(TL_MODEL_PATH="$T/m" seg jieba 北京大学)" = "北京 大学" ]
	sleep 0.01
	printf '北京 5 ns\n大学 3 n\n北京大学 100 nt\n' >"$T/m/jieba/dict.txt"
	[ "$(TL_MODEL_PATH="$T/m" seg jieba 北京大学)" = "北京大学" ]
}
