.DEFAULT_GOAL := all
# Embedded data in libtl: the default (uncased BERT) vocabulary, so that
# tl-tokenize works with no model directory and no download.
EMBED_VOCAB := lib/text/data/vocab-uncased.txt

$(BUILD)/gen/embed_vocab.c: $(EMBED_VOCAB) mk/embed.sh
	@mkdir -p $(dir $@)
	sh mk/embed.sh tl_embed_vocab_uncased $(EMBED_VOCAB) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/embed_vocab.o: $(BUILD)/gen/embed_vocab.c
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

LIB_GEN_OBJ += $(BUILD)/gen/embed_vocab.o
