# BERT / model directories: where installed models are found.
$(BUILD)/obj/lib/models/model.o: CFLAGS_ALL += -DTL_MODEL_DIR='"$(PREFIX)/share/tl/models"'
